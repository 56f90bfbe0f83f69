#!/usr/bin/env bash
# stress/hostile.sh quick|full - hostile peers of the Lua echo server
# (examples/echo_server.lua on lua5.4) while a well-behaved bench/loadgen
# run (50 connections x 64 B) must still see every echo intact:
#   (a) noread: 4 connections that send as fast as they can and never read;
#       the server must push back (the senders stall) and its memory stay
#       bounded;
#   (b) reset: 4 at a time send 256 KiB and reset (SO_LINGER {1, 0}) once
#       half of the echo is back, over and over;
#   (c) halfclose: 2 at a time send 1 B to 8 MiB, shutdown(SHUT_WR), and
#       must get the whole echo, then EOF; every other one reads late
#       through a small buffer, so that its FIN reaches the server while
#       the server still holds unsent echo;
#   (d) idle: many connections (quick 1,000, full 5,000), each checked with
#       one echo, held silent during the whole run.
# Quick: 5 s of load; full: 30 s.  Fails on an error of any of them, a
# server that exits, server RSS above 2 x its RSS with the idle
# connections up + 16 MB, server descriptors that do not return to the
# count before once the hostile clients are gone, or a zombie.  Relies on
# stress/lib.sh (see there) and stress/hostile.
# shellcheck source=stress/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
st_init hostile "${1:-}"

if [ "$st_mode" = full ]; then idle=5000 secs=30; else idle=1000 secs=5; fi

st_start_server $((idle + 1024))
fds_before=$(st_fds "$server_pid")
rss_before=$(st_rss_kb "$server_pid")
st_say "server: $fds_before descriptors, RSS $rss_before kB before"

# (d) first, so that the idle connections are there during all the rest.
st_bg idle "$st_hostile" idle -p "$server_port" -c "$idle" -t $((secs + 150))
idle_pid=$st_bg_pid
st_wait_line "$st_logs/idle.out" '^READY' 45 || st_fail idle "the idle connections were not set up in 45 s"
held=$(sed -n 's/^READY .* held=\([0-9]*\).*/\1/p' "$st_logs/idle.out")
[ "${held:-0}" -eq "$idle" ] || st_fail idle "${held:-0} of $idle idle connections set up"
fds_idle=$(st_fds "$server_pid")
rss_idle=$(st_rss_kb "$server_pid")
st_say "(d) $held idle connections held: server $fds_idle descriptors, RSS $rss_idle kB"

st_say "(a) noread x 4, (b) reset x 4, (c) halfclose x 2 and loadgen 50 x 64 B for $secs s"
st_bg noread "$st_hostile" noread -p "$server_port" -c 4 -t $((secs + 3))
noread_pid=$st_bg_pid
st_bg reset "$st_hostile" reset -p "$server_port" -n 0 -c 4 -s 262144 -t "$secs"
reset_pid=$st_bg_pid
st_bg halfclose "$st_hostile" halfclose -p "$server_port" -n 0 -c 2 -s 8388608 -t "$secs"
half_pid=$st_bg_pid
st_bg loadgen "$st_loadgen" -p "$server_port" -c 50 -s 64 -d 1 -w 0.5 -t "$secs"
lg_pid=$st_bg_pid

rss_peak=$rss_idle fds_peak=$fds_idle
for _ in $(seq 1 $(((secs + 60) * 4))); do
  st_running "$lg_pid" || st_running "$noread_pid" || st_running "$reset_pid" ||
    st_running "$half_pid" || break
  st_running "$server_pid" || break
  r=$(st_rss_kb "$server_pid")
  f=$(st_fds "$server_pid")
  [ "$r" -gt "$rss_peak" ] && rss_peak=$r
  [ "$f" -gt "$fds_peak" ] && fds_peak=$f
  sleep 0.25
done
declare -A status
for tool in loadgen noread reset halfclose; do
  case $tool in
    loadgen) pid=$lg_pid ;; noread) pid=$noread_pid ;; reset) pid=$reset_pid ;; halfclose) pid=$half_pid ;;
  esac
  status[$tool]=0
  st_wait "$pid" 30 || status[$tool]=$?
  cat "$st_logs/$tool.err"
done
st_server_check

for tool in loadgen noread reset halfclose; do
  e=$(st_field errors "$st_logs/$tool.out")
  [ "${status[$tool]}" -eq 0 ] || st_fail "$tool" "$tool exited with status ${status[$tool]}"
  [ "${e:-x}" = 0 ] || st_fail "$tool" "$tool reported errors=${e:-none}"
done
lg_msgs=$(st_field msgs "$st_logs/loadgen.out")
lg_rate=$(st_field msgs_per_s "$st_logs/loadgen.out")
nr_bytes=$(st_field bytes "$st_logs/noread.out")
nr_stalled=$(st_field stalled "$st_logs/noread.out")
nr_idle=$(st_field idle_end_s "$st_logs/noread.out")
resets=$(st_field cycles "$st_logs/reset.out")
halfs=$(st_field cycles "$st_logs/halfclose.out")
half_bytes=$(st_field bytes "$st_logs/halfclose.out")
# A server that kept reading what it cannot send would let the senders go
# on; one that pushes back makes them stall once the socket buffers are full.
[ "${nr_stalled:-0}" = 1 ] ||
  st_fail noread_unbounded "the non-reading clients were never stalled: the server kept taking data (${nr_bytes:-?} bytes)"
[ "${resets:-0}" -gt 0 ] || st_fail reset "no reset cycle completed"
[ "${halfs:-0}" -gt 0 ] || st_fail halfclose "no half-close cycle completed"
st_say "(a) noread: $nr_bytes bytes taken, then nothing for the last $nr_idle s (stalled=$nr_stalled)"
st_say "(b) reset: $resets connections reset mid-transfer; (c) halfclose: $halfs full echoes + EOF ($half_bytes bytes)"

# The idle connections go last; they must have heard nothing.
kill -TERM "$idle_pid" 2>/dev/null
idle_status=0
st_wait "$idle_pid" 30 || idle_status=$?
cat "$st_logs/idle.err"
idle_err=$(st_field errors "$st_logs/idle.out")
[ "$idle_status" -eq 0 ] || st_fail idle "hostile idle exited with status $idle_status"
[ "${idle_err:-x}" = 0 ] || st_fail idle "hostile idle reported errors=${idle_err:-none}"
st_server_check

fds_after=$fds_before rss_after=0
if [ -n "$server_pid" ]; then
  st_settle "$rss_idle" "the hostile run"
  st_say "server RSS: $rss_before kB before, $rss_idle kB with the idle connections, $rss_peak kB peak sampled," \
    "$rss_after kB after; descriptors $fds_before -> $fds_peak -> $fds_after"
  st_stop_server
fi

st_result seconds="$secs" idle="${held:-0}" loadgen_msgs="${lg_msgs:-0}" loadgen_msgs_per_s="${lg_rate:-0}" \
  loadgen_errors="$(st_field errors "$st_logs/loadgen.out")" noread_bytes="${nr_bytes:-0}" \
  noread_stalled="${nr_stalled:-0}" resets="${resets:-0}" halfcloses="${halfs:-0}" \
  rss_before_kb="$rss_before" rss_idle_kb="$rss_idle" rss_peak_kb="$rss_peak" rss_after_kb="$rss_after" \
  fds_before="$fds_before" fds_peak="$fds_peak" fds_after="$fds_after"
