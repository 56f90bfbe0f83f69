#!/usr/bin/env bash
# stress/soak.sh quick|full - many concurrent connections for a long time
# through the Lua echo server (examples/echo_server.lua on lua5.4), every
# echoed byte checked by bench/loadgen (one 64 B message in flight per
# connection).  Full: 10,000 connections for 60 s; quick: 1,000 for 8 s.
# Fails on any loadgen error or non-zero exit, a server that exits, server
# RSS at the end of the load above 2 x its RSS once all connections were
# up + 16 MB, server descriptors that do not return to the count before
# the load, or a zombie.  Relies on stress/lib.sh (see there).
# shellcheck source=stress/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
st_init soak "${1:-}"

if [ "$st_mode" = full ]; then conns=10000 secs=60; else conns=1000 secs=8; fi

st_start_server $((conns + 256))
fds_before=$(st_fds "$server_pid")
rss_idle=$(st_rss_kb "$server_pid")
st_say "server: $fds_before descriptors, RSS $rss_idle kB before the load"

st_say "loadgen: $conns connections x 64 B, 1 s warm-up, $secs s measured"
st_bg loadgen "$st_loadgen" -p "$server_port" -c "$conns" -s 64 -d 1 -w 1 -t "$secs"
lg_pid=$st_bg_pid

# Sample the server while the load runs: RSS once every connection is up
# (the start of the load), the peak, and the last sample (its end).
rss_start='' rss_peak=0 rss_end=0 fds_peak=0
limit=$((secs + 120))  # set-up (30 s at most) + warm-up + drain (10 s)
for _ in $(seq 1 $((limit * 4))); do
  st_running "$lg_pid" || break
  st_running "$server_pid" || break
  f=$(st_fds "$server_pid")
  r=$(st_rss_kb "$server_pid")
  [ "$f" -gt "$fds_peak" ] && fds_peak=$f
  [ "$r" -gt "$rss_peak" ] && rss_peak=$r
  [ -z "$rss_start" ] && [ "$f" -ge $((fds_before + conns)) ] && rss_start=$r
  [ -n "$rss_start" ] && rss_end=$r
  sleep 0.25
done
lg_status=0
st_wait "$lg_pid" 30 || lg_status=$?
cat "$st_logs/loadgen.err"
st_server_check

msgs=$(st_field msgs "$st_logs/loadgen.out")
rate=$(st_field msgs_per_s "$st_logs/loadgen.out")
errors=$(st_field errors "$st_logs/loadgen.out")
[ "$lg_status" -eq 0 ] || st_fail loadgen "loadgen exited with status $lg_status"
[ "${errors:-x}" = 0 ] || st_fail errors "loadgen reported errors=${errors:-none}"
if [ -z "$rss_start" ]; then
  st_fail load "the server never held all $conns connections at once (peak $fds_peak descriptors)"
  rss_start=$rss_idle
fi

fds_after=$fds_before
if [ -n "$server_pid" ]; then
  st_wait_fds "$server_pid" "$fds_before" 20
  fds_after=$st_fds_now
  [ "$fds_after" -le "$fds_before" ] ||
    st_fail fd_leak "server has $fds_after descriptors 20 s after the load, $fds_before before"
  rss_after=$(st_rss_kb "$server_pid")
  hwm=$(st_hwm_kb "$server_pid")
  st_rss_bound "$rss_start" "$rss_end" "at the end of the load"
  st_rss_bound "$rss_start" "$rss_after" "after the load"
  st_say "server RSS: $rss_idle kB idle, $rss_start kB with all connections up, $rss_end kB at the end," \
    "$rss_after kB after (peak sampled $rss_peak kB, VmHWM $hwm kB); descriptors $fds_before -> $fds_peak -> $fds_after"
  st_stop_server
fi

st_result conns="$conns" seconds="$secs" msgs="${msgs:-0}" msgs_per_s="${rate:-0}" errors="${errors:-none}" \
  rss_start_kb="$rss_start" rss_end_kb="$rss_end" rss_after_kb="${rss_after:-0}" \
  fds_before="$fds_before" fds_peak="$fds_peak" fds_after="$fds_after"
