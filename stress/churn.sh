#!/usr/bin/env bash
# stress/churn.sh quick|full - connection churn through the Lua echo server
# (examples/echo_server.lua on lua5.4): stress/hostile churn runs cycles of
# connect, send 64 bytes, read and check the whole echo, close, 8 at once;
# every other cycle closes with a reset (SO_LINGER {1, 0}, then close).
# Full: 100,000 cycles; quick: 5,000.  Fails on any echo error, a cycle
# left unfinished within the time bound, server descriptors that do not
# return to the count before, server RSS after above 2 x before + 16 MB, a
# server that exits, or a zombie.  Relies on stress/lib.sh (see there).
# shellcheck source=stress/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
st_init churn "${1:-}"

if [ "$st_mode" = full ]; then cycles=100000 bound=600; else cycles=5000 bound=60; fi
conc=8

st_start_server 1024
fds_before=$(st_fds "$server_pid")
rss_before=$(st_rss_kb "$server_pid")
st_say "server: $fds_before descriptors, RSS $rss_before kB before"

st_say "hostile churn: $cycles cycles, $conc at once, every other one reset, $bound s at most"
st_bg churn "$st_hostile" churn -p "$server_port" -n "$cycles" -c "$conc" -s 64 -t "$bound"
churn_pid=$st_bg_pid
rss_peak=$rss_before fds_peak=$fds_before
for _ in $(seq 1 $(((bound + 30) * 4))); do
  st_running "$churn_pid" || break
  st_running "$server_pid" || break
  r=$(st_rss_kb "$server_pid")
  f=$(st_fds "$server_pid")
  [ "$r" -gt "$rss_peak" ] && rss_peak=$r
  [ "$f" -gt "$fds_peak" ] && fds_peak=$f
  sleep 0.25
done
status=0
st_wait "$churn_pid" 30 || status=$?
cat "$st_logs/churn.err"
st_server_check

done_cycles=$(st_field cycles "$st_logs/churn.out")
resets=$(st_field resets "$st_logs/churn.out")
errors=$(st_field errors "$st_logs/churn.out")
secs=$(st_field seconds "$st_logs/churn.out")
rate=$(st_calc %.0f "${done_cycles:-0} / (${secs:-0} > 0 ? ${secs:-0} : 1)")
[ "$status" -eq 0 ] || st_fail churn "hostile churn exited with status $status"
[ "${errors:-x}" = 0 ] || st_fail errors "hostile churn reported errors=${errors:-none}"
[ "${done_cycles:-0}" -eq "$cycles" ] || st_fail cycles "${done_cycles:-0} of $cycles cycles completed"
st_say "$done_cycles cycles ($resets reset) in $secs s: $rate cycles/s"

fds_after=$fds_before rss_after=0
if [ -n "$server_pid" ]; then
  st_settle "$rss_before" "the churn"
  st_say "server RSS: $rss_before kB before, $rss_peak kB peak sampled, $rss_after kB after;" \
    "descriptors $fds_before -> $fds_peak -> $fds_after"
  st_stop_server
fi

st_result cycles="${done_cycles:-0}" resets="${resets:-0}" errors="${errors:-none}" seconds="${secs:-0}" \
  cycles_per_s="$rate" rss_before_kb="$rss_before" rss_peak_kb="$rss_peak" rss_after_kb="$rss_after" \
  fds_before="$fds_before" fds_peak="$fds_peak" fds_after="$fds_after"
