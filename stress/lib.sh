# stress/lib.sh - what the stress checks (stress/<name>.sh MODE) share,
# sourced by each: the mode and the build directory, starting the Lua echo
# server (examples/echo_server.lua on port 0, under lua5.4, with a chosen
# RLIMIT_NOFILE) and reading its port from its first line, stopping it and
# the tools by PID, and reading a process's descriptors, resident memory
# and CPU ticks from /proc/PID.  It relies on bash, lua5.4, /proc (Linux)
# and a build directory ($SEL_BUILD, default the tree's build/) configured
# with -DSEL_BUILD_STRESS=ON, which holds the Lua 5.4 modules
# (lua/5.4/selectors/*.so), stress/hostile and loadgen (stress/ or bench/).
# SEL_STRESS_SERVER names another Lua server script to run instead of the
# example (it must take "-q 0" and print the example's "listening" line):
# how the checks were shown to fail on a leaking, spinning, corrupting or
# unboundedly buffering server.
# Each check ends with st_result, which prints the one
#   RESULT check=NAME status=ok|FAIL key=value ...
# line, last, and exits 0 only when nothing failed.  Logs of the latest
# run of each check stay in $SEL_BUILD/stress-logs/NAME/.

# shellcheck shell=bash
set -uo pipefail

st_root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
st_build=${SEL_BUILD:-$st_root/build}
st_build=$(cd "$st_build" 2>/dev/null && pwd || echo "$st_build")
st_hostile=$st_build/stress/hostile
st_loadgen=$st_build/stress/loadgen
[ -x "$st_loadgen" ] || st_loadgen=$st_build/bench/loadgen
# shellcheck disable=SC2034  # used by the checks
st_clk_tck=$(getconf CLK_TCK)
st_server_script=${SEL_STRESS_SERVER:-$st_root/examples/echo_server.lua}
st_failed=()
st_pids=()
server_pid=
server_port=
st_t0=$SECONDS

st_say() { echo "$st_name: $*"; }

# st_fail CODE MESSAGE: records a failure (CODE goes into the RESULT line).
st_fail() {
  st_failed+=("$1")
  echo "$st_name: FAIL ($1): $2"
}

# Every process this check started and that still runs when it leaves is
# killed, by its PID only.
st_cleanup() {
  local pid
  for pid in "${st_pids[@]}" $server_pid; do
    st_running "$pid" && kill -KILL "$pid" 2>/dev/null
  done
  return 0
}

# st_init NAME MODE: checks the mode and what the check needs.
st_init() {
  st_name=$1
  st_mode=${2:-}
  case $st_mode in
    quick|full) ;;
    *) echo "usage: stress/$st_name.sh quick|full" >&2; exit 2 ;;
  esac
  trap st_cleanup EXIT
  st_logs=$st_build/stress-logs/$st_name
  local missing=()
  command -v lua5.4 >/dev/null 2>&1 || missing+=(lua5.4)
  [ -f "$st_build/lua/5.4/selectors/core.so" ] || missing+=("$st_build/lua/5.4/selectors/core.so")
  [ -f "$st_build/lua/5.4/selectors/socket.so" ] || missing+=("$st_build/lua/5.4/selectors/socket.so")
  [ -x "$st_hostile" ] || missing+=("$st_hostile")
  [ -x "$st_loadgen" ] || missing+=("$st_build/stress/loadgen")
  if [ ${#missing[@]} -gt 0 ]; then
    st_say "missing: ${missing[*]} (build with -DSEL_BUILD_STRESS=ON, or set SEL_BUILD)"
    echo "RESULT check=$st_name status=FAIL mode=$st_mode failed=prerequisites"
    exit 1
  fi
  mkdir -p "$st_logs" && rm -f "$st_logs"/*
  st_say "mode $st_mode, build $st_build, logs $st_logs"
}

# True while PID exists and is not a zombie.
st_running() {
  local line rest
  [ -n "$1" ] || return 1
  read -r line 2>/dev/null <"/proc/$1/stat" || return 1
  rest=${line##*) }
  [ "${rest%% *}" != Z ]
}

st_fds() { local a=("/proc/$1/fd/"*); [ -e "${a[0]}" ] && echo "${#a[@]}" || echo 0; }
st_rss_kb() { awk '$1 == "VmRSS:" { print $2; f = 1 } END { if (!f) print 0 }' "/proc/$1/status" 2>/dev/null || echo 0; }
st_hwm_kb() { awk '$1 == "VmHWM:" { print $2; f = 1 } END { if (!f) print 0 }' "/proc/$1/status" 2>/dev/null || echo 0; }
# utime + stime of PID, in clock ticks ($st_clk_tck a second).
st_ticks() {
  local line rest
  read -r line 2>/dev/null <"/proc/$1/stat" || { echo 0; return; }
  rest=${line##*) }
  # shellcheck disable=SC2086
  set -- $rest
  echo $(( ${12} + ${13} ))
}
st_now() { date +%s.%N; }
st_calc() { awk "BEGIN { printf \"$1\", $2 }"; }

# st_start_server NOFILE: starts the Lua echo server on a free port with
# RLIMIT_NOFILE NOFILE (soft and hard), waits (10 s at most) for its
# "listening" line; sets server_pid and server_port.
st_start_server() {
  local nofile=$1 _
  st_server_out=$st_logs/server.out
  st_server_err=$st_logs/server.err
  (
    # Only the server's own descriptors: close what this shell inherited.
    for f in /proc/"$BASHPID"/fd/*; do
      f=${f##*/}
      [ "$f" -gt 2 ] && eval "exec $f>&-" 2>/dev/null
    done
    ulimit -n "$nofile" || exit 97
    exec env "LUA_CPATH=$st_build/lua/5.4/?.so;;" \
      "LUA_PATH=$st_root/lua/?.lua;$st_root/lua/?/init.lua;;" \
      lua5.4 "$st_server_script" -q 0
  ) >"$st_server_out" 2>"$st_server_err" </dev/null &
  server_pid=$!
  server_port=
  for _ in $(seq 1 200); do
    server_port=$(sed -n 's/^echo server listening on 127\.0\.0\.1:\([0-9]*\)$/\1/p' "$st_server_out")
    [ -n "$server_port" ] && break
    st_running "$server_pid" || break
    sleep 0.05
  done
  if [ -z "$server_port" ]; then
    st_fail server_start "the echo server did not start; its stderr: $(head -c 500 "$st_server_err")"
    st_result server=none
  fi
  st_say "echo server ${st_server_script#"$st_root"/} pid $server_pid on 127.0.0.1:$server_port, RLIMIT_NOFILE $nofile"
}

# st_server_check: fails (server_exit) when the server is not running any more.
st_server_check() {
  st_running "$server_pid" && return 0
  local status=0
  wait "$server_pid" 2>/dev/null || status=$?
  st_fail server_exit "the echo server exited (status $status); its stderr: $(tail -c 500 "$st_server_err")"
  server_pid=
  return 1
}

# st_stop_server: SIGTERM, bounded wait; the Lua server has no handler and
# dies of it (status 143): anything else is a failure.
st_stop_server() {
  local _ status=0
  [ -n "$server_pid" ] || return 0
  st_server_check || return 1
  kill -TERM "$server_pid" 2>/dev/null
  for _ in $(seq 1 100); do
    st_running "$server_pid" || break
    sleep 0.05
  done
  if st_running "$server_pid"; then
    kill -KILL "$server_pid" 2>/dev/null
    st_fail server_stop "the echo server ignored SIGTERM; killed"
  fi
  wait "$server_pid" 2>/dev/null || status=$?
  [ "$status" -eq 143 ] || st_fail server_exit "the echo server ended with status $status, not 143 (SIGTERM)"
  server_pid=
}

# st_bg NAME CMD...: starts a tool in the background, its stdout in
# $st_logs/NAME.out and stderr in NAME.err; sets st_bg_pid.
st_bg() {
  local name=$1
  shift
  "$@" >"$st_logs/$name.out" 2>"$st_logs/$name.err" </dev/null &
  st_bg_pid=$!
  st_pids+=("$st_bg_pid")
}

# st_wait PID SECONDS: waits for a tool (killed after SECONDS) and returns
# its exit status (137 when it had to be killed).
st_wait() {
  local pid=$1 _ status=0
  for _ in $(seq 1 $(($2 * 10))); do
    st_running "$pid" || break
    sleep 0.1
  done
  if st_running "$pid"; then
    kill -KILL "$pid" 2>/dev/null
    st_say "process $pid still running after $2 s: killed"
  fi
  wait "$pid" 2>/dev/null || status=$?
  return $status
}

# st_wait_line FILE PATTERN SECONDS: waits until FILE has a line matching PATTERN.
st_wait_line() {
  local _
  for _ in $(seq 1 $(($3 * 20))); do
    grep -q "$2" "$1" 2>/dev/null && return 0
    sleep 0.05
  done
  return 1
}

# st_wait_fds PID TARGET SECONDS: waits until PID has at most TARGET
# descriptors; sets st_fds_now.
st_wait_fds() {
  local _
  for _ in $(seq 1 $(($3 * 10))); do
    st_fds_now=$(st_fds "$1")
    [ "$st_fds_now" -le "$2" ] && return 0
    sleep 0.1
  done
  return 1
}

# field NAME FILE: the value of NAME=... in the last RESULT/HOSTILE line of FILE.
st_field() { grep -E '^(RESULT|HOSTILE) ' "$2" 2>/dev/null | tail -n 1 | sed -n "s/.* $1=\([^ ]*\).*/\1/p"; }

# Zombie processes whose parent is this shell, the server or a tool of ours.
st_zombies() {
  local f line rest n=0 parents=" $$ $server_pid ${st_pids[*]} "
  for f in /proc/[0-9]*/stat; do
    read -r line 2>/dev/null <"$f" || continue
    rest=${line##*) }
    # shellcheck disable=SC2086
    set -- $rest
    [ "$1" = Z ] && [[ $parents == *" $2 "* ]] && n=$((n + 1))
  done
  echo "$n"
}

# st_rss_bound BASE_KB KB WHAT: fails (rss_bound) when KB > 2 x BASE + 16 MB.
st_rss_bound() {
  local limit=$(( 2 * $1 + 16384 ))
  if [ "$2" -gt "$limit" ]; then
    st_fail rss_bound "server RSS $2 kB $3 exceeds 2 x $1 + 16384 = $limit kB"
  fi
}

# st_settle BASE_KB WHEN: once the clients are gone, the server's
# descriptors must come back to fds_before within 20 s and its RSS, now
# and at the sampled rss_peak, stay within st_rss_bound of BASE_KB; sets
# fds_after and rss_after.  WHEN names the run in the messages.
# shellcheck disable=SC2154  # fds_before and rss_peak are the check's
st_settle() {
  local base=$1 when=$2
  st_wait_fds "$server_pid" "$fds_before" 20
  fds_after=$st_fds_now
  [ "$fds_after" -le "$fds_before" ] ||
    st_fail fd_leak "server has $fds_after descriptors 20 s after $when, $fds_before before"
  rss_after=$(st_rss_kb "$server_pid")
  st_rss_bound "$base" "$rss_peak" "at its peak during $when"
  st_rss_bound "$base" "$rss_after" "after $when"
}

# st_result KEY=VALUE...: the RESULT line, last; exits 0 only if nothing failed.
st_result() {
  local status=ok z
  z=$(st_zombies)
  [ "$z" -eq 0 ] || st_fail zombie "$z zombie process(es) of this check"
  [ ${#st_failed[@]} -eq 0 ] || status=FAIL
  local failed=
  [ ${#st_failed[@]} -eq 0 ] || failed=" failed=$(IFS=,; echo "${st_failed[*]}")"
  st_say "done in $((SECONDS - st_t0)) s: $status"
  echo "RESULT check=$st_name status=$status mode=$st_mode $* zombies=$z wall_s=$((SECONDS - st_t0))$failed"
  [ "$status" = ok ]
  exit $?
}
