#!/usr/bin/env bash
# stress/fdlimit.sh quick|full - descriptor exhaustion: the Lua echo server
# (examples/echo_server.lua on lua5.4) runs with RLIMIT_NOFILE 64, and
# stress/hostile flood opens more connections than it can accept (quick
# 200, full 1,000), never sending.  Its accept() fails with EMFILE; the
# example then takes its listener out of the selector for 0.1 s (it prints
# "accept: Too many open files" each time) instead of being woken again and
# again.  While they are held (quick 3 s, full 10 s) the server's CPU time
# (utime + stime from /proc/PID/stat) must stay under 20 % of one core;
# then they are closed and the server must recover: descriptors back to
# the count before, and a new client (loadgen, 4 connections, 400 messages)
# gets every echo intact.  Also fails on a server that exits, or a zombie.
# Relies on stress/lib.sh (see there) and stress/hostile.
# shellcheck source=stress/lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
st_init fdlimit "${1:-}"

nofile=64
if [ "$st_mode" = full ]; then conns=1000 hold=10; else conns=200 hold=3; fi
cpu_limit_pct=20

st_start_server "$nofile"
fds_before=$(st_fds "$server_pid")
st_say "server: $fds_before descriptors before, RLIMIT_NOFILE $nofile"

st_bg flood "$st_hostile" flood -p "$server_port" -c "$conns" -w 1 -t $((hold + 60))
flood_pid=$st_bg_pid
st_wait_line "$st_logs/flood.out" '^READY' 20 || st_fail flood "the flood did not report its connections in 20 s"
held=$(sed -n 's/^READY .* held=\([0-9]*\).*/\1/p' "$st_logs/flood.out")
pending=$(sed -n 's/^READY .* pending=\([0-9]*\).*/\1/p' "$st_logs/flood.out")
sleep 0.5  # let the server reach the limit
fds_limit=$(st_fds "$server_pid")
errs0=$(grep -c '^accept: ' "$st_server_err")
ticks0=$(st_ticks "$server_pid")
t0=$(st_now)
sleep "$hold"
ticks1=$(st_ticks "$server_pid")
t1=$(st_now)
errs1=$(grep -c '^accept: ' "$st_server_err")
fds_held=$(st_fds "$server_pid")
st_server_check
cpu_pct=$(st_calc %.1f "($ticks1 - $ticks0) / $st_clk_tck / ($t1 - $t0) * 100")
window=$(st_calc %.2f "$t1 - $t0")
accept_errs=$((errs1 - errs0))
st_say "$held of $conns connections established as the client sees it, ${pending:-?} still connecting;" \
  "server at $fds_limit descriptors, then $fds_held"
st_say "server CPU over $window s at the limit: $((ticks1 - ticks0)) ticks = $cpu_pct % of a core;" \
  "$accept_errs accept errors printed in that window: $(grep -m 1 '^accept: ' "$st_server_err")"
if awk -v c="$cpu_pct" -v l="$cpu_limit_pct" 'BEGIN { exit !(c >= l) }'; then
  st_fail cpu_spin "the server used $cpu_pct % of a core while out of descriptors (limit $cpu_limit_pct %)"
fi
[ "$fds_limit" -ge $((nofile - 2)) ] ||
  st_fail limit "the server only reached $fds_limit descriptors: the limit was never hit"

kill -TERM "$flood_pid" 2>/dev/null
flood_status=0
st_wait "$flood_pid" 30 || flood_status=$?
cat "$st_logs/flood.err"
[ "$flood_status" -eq 0 ] || st_fail flood "hostile flood exited with status $flood_status"

fds_after=$fds_before recovered=0 lg_errors=none
if st_server_check; then
  st_wait_fds "$server_pid" "$fds_before" 20
  fds_after=$st_fds_now
  [ "$fds_after" -le "$fds_before" ] ||
    st_fail fd_leak "server has $fds_after descriptors 20 s after the flood ended, $fds_before before"
  lg_status=0
  timeout 60 "$st_loadgen" -p "$server_port" -c 4 -s 64 -n 400 -t 30 \
    >"$st_logs/loadgen.out" 2>"$st_logs/loadgen.err" || lg_status=$?
  cat "$st_logs/loadgen.err"
  lg_errors=$(st_field errors "$st_logs/loadgen.out")
  if [ "$lg_status" -eq 0 ] && [ "${lg_errors:-x}" = 0 ]; then
    recovered=1
  else
    st_fail recovery "a new client after the flood: loadgen status $lg_status, errors=${lg_errors:-none}"
  fi
  st_say "after the flood: descriptors $fds_after (before: $fds_before); new client echoed: recovered=$recovered"
  st_stop_server
fi

st_result nofile="$nofile" conns="$conns" established="${held:-0}" hold_s="$window" \
  cpu_ticks=$((ticks1 - ticks0)) cpu_pct="$cpu_pct" accept_errors="$accept_errs" \
  fds_before="$fds_before" fds_at_limit="$fds_limit" fds_after="$fds_after" \
  recovered="$recovered" loadgen_errors="${lg_errors:-none}"
