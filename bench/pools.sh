#!/usr/bin/env bash
# bench/pools.sh [--quick|--full] - pools (issue 6, part 4): trivial-task
# throughput and round-trip latency of our C thread pool (bench/pools.c),
# our Lua ThreadPool and ProcessPool on Lua 5.4 (bench/pools.lua), and
# Python's ThreadPoolExecutor and multiprocessing.Pool (bench/pools.py),
# every pool with 2 workers.  Prints one Markdown table: tasks/s (the best
# of several rounds of K tasks submitted, then every result collected),
# its ratio to the Python counterpart measured in the same run (threads to
# ThreadPoolExecutor, processes to multiprocessing.Pool), round-trip p50
# and p99 (one task submitted, its result waited for, repeated), and the
# issue's targets: C thread pool >= 200,000 tasks/s, Lua ThreadPool >= 5x
# ThreadPoolExecutor, Lua ProcessPool >= 2x multiprocessing.Pool.
# --quick takes under 30 s; --full (the default) also writes bench/pools.md
# (the table and the machine).  It builds into build-bench/
# (SEL_BENCH_BUILD names another) as bench/run does; Python is Debian's
# /usr/bin/python3.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
bench=$root/bench
build=${SEL_BENCH_BUILD:-$root/build-bench}
python=/usr/bin/python3

mode=full
usage() {
  sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed '$d; s/^# \{0,1\}//'
  exit "${1:-0}"
}
while [ $# -gt 0 ]; do
  case $1 in
    --quick) mode=quick ;;
    --full) mode=full ;;
    -h|--help) usage 0 ;;
    *) echo "pools.sh: unknown argument: $1" >&2; usage 2 ;;
  esac
  shift
done

# Options of the programs: -k tasks per throughput round, -r rounds,
# -n round trips.
if [ "$mode" = quick ]; then
  c_opts=(-k 50000 -r 3 -n 5000)
  opts=(-k 5000 -r 3 -n 2000)
else
  c_opts=(-k 200000 -r 5 -n 50000)
  opts=(-k 20000 -r 5 -n 10000)
fi

start_time=$SECONDS
tmp=$(mktemp -d "${TMPDIR:-/tmp}/sel-pools.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
failures=()

# ---- build ----

# Configured as bench/run configures it, so that the two share build-bench/.
built_c=
built_lua=
if ! grep -q '^SEL_BUILD_BENCH:BOOL=ON$' "$build/CMakeCache.txt" 2>/dev/null; then
  cmake -S "$root" -B "$build" -DCMAKE_C_COMPILER=gcc -DCMAKE_BUILD_TYPE=Release \
    -DSEL_BUILD_BENCH=ON -DSEL_BUILD_LUA=ON -DSEL_BUILD_TESTS=OFF >"$tmp/cmake.log" 2>&1 || {
    cat "$tmp/cmake.log" >&2
    exit 1
  }
fi
have=$(cmake --build "$build" --target help)
target() {  # NAME...: builds them if all are known; 1 otherwise
  local t
  for t in "$@"; do grep -q "^\.\.\. $t\$" <<<"$have" || return 1; done
  cmake --build "$build" -j 2 --target "$@" >>"$tmp/build.log" 2>&1
}
if grep -q '^\.\.\. pools$' <<<"$have"; then
  target pools && built_c=1
elif target selector_static; then
  # Until bench/CMakeLists.txt includes bench/pools.cmake: by hand.
  mkdir -p "$build/bench"
  # shellcheck disable=SC2046
  gcc -O2 -g -std=c99 -Wall -Wextra -I"$root/csrc" $(pkg-config --cflags libuv) \
    "$bench/pools.c" "$build/libselector.a" $(pkg-config --libs libuv) -lpthread \
    -o "$build/bench/pools" 2>>"$tmp/build.log" && built_c=1
fi
target lua54_core && built_lua=1
[ -n "$built_c" ] || failures+=("C thread pool: could not build (left out)")
[ -n "$built_lua" ] || failures+=("Lua: could not build lua54_core (left out)")

export LUA_PATH="$root/lua/?.lua;$root/lua/?/init.lua;;"
export LUA_CPATH_5_4="$build/lua/5.4/?.so;;"

# ---- measure ----

rows=(c lua_thread lua_process py_thread py_process)
declare -A title=([c]="C thread pool" [lua_thread]="Lua ThreadPool"
  [lua_process]="Lua ProcessPool" [py_thread]="Python ThreadPoolExecutor"
  [py_process]="Python multiprocessing.Pool")
declare -A base=([c]=py_thread [lua_thread]=py_thread [lua_process]=py_process
  [py_thread]=py_thread [py_process]=py_process)
declare -A R   # R[row,field], from the programs' key=value lines

measure() {  # ROW COMMAND...
  local row=$1 line kv t0=$SECONDS
  shift
  if line=$("$@" 2>"$tmp/err"); then
    for kv in $line; do R[$row,${kv%%=*}]=${kv#*=}; done
  else
    failures+=("${title[$row]}: $(tail -n 1 "$tmp/err")")
  fi
  R[$row,secs]=$((SECONDS - t0))
}

[ -n "$built_c" ] && measure c "$build/bench/pools" -w 2 "${c_opts[@]}"
if [ -n "$built_lua" ]; then
  measure lua_thread lua5.4 "$bench/pools.lua" thread -w 2 "${opts[@]}"
  measure lua_process lua5.4 "$bench/pools.lua" process -w 2 "${opts[@]}"
fi
measure py_thread "$python" "$bench/pools.py" thread -w 2 "${opts[@]}"
measure py_process "$python" "$bench/pools.py" process -w 2 "${opts[@]}"

# ---- table ----

fmt_n() {  # 1234567.8 -> 1,234,568
  awk -v v="$1" 'BEGIN { s = sprintf("%.0f", v); while (s ~ /[0-9][0-9][0-9][0-9]/) sub(/[0-9][0-9][0-9]($|,)/, ",&", s); print s }'
}
get() { echo "${R[$1,$2]:-}"; }
ratio() {  # ROW: tasks/s over its Python counterpart's
  local a b
  a=$(get "$1" tasks_per_s) b=$(get "${base[$1]}" tasks_per_s)
  if [ -z "$a" ] || [ -z "$b" ]; then echo "-"; return; fi
  awk -v a="$a" -v b="$b" 'BEGIN { printf "%.2fx", a / b }'
}
ge() { awk -v a="$1" -v b="$2" 'BEGIN { exit !(a >= b) }'; }
target_cell() {  # ROW
  local v b
  v=$(get "$1" tasks_per_s) b=$(get "${base[$1]}" tasks_per_s)
  case $1 in
    c) [ -n "$v" ] || { echo "≥ 200,000 tasks/s: -"; return; }
       if ge "$v" 200000; then echo "≥ 200,000 tasks/s: met"; else echo "≥ 200,000 tasks/s: not met"; fi ;;
    lua_thread|lua_process)
      local want=5 name=ThreadPoolExecutor
      [ "$1" = lua_process ] && want=2 name=mp.Pool
      if [ -z "$v" ] || [ -z "$b" ]; then echo "≥ ${want}× $name: -"; return; fi
      if ge "$v" "$(awk -v b="$b" -v w="$want" 'BEGIN { print b * w }')"; then
        echo "≥ ${want}× $name: met"
      else
        echo "≥ ${want}× $name: not met"
      fi ;;
    *) echo "(baseline)" ;;
  esac
}
machine() {
  local cpu
  cpu=$(lscpu 2>/dev/null | sed -n 's/^Model name: *//p' | head -n 1)
  echo "${cpu:-unknown CPU}, $(nproc) cores, Linux $(uname -r), libuv $(pkg-config --modversion libuv)," \
    "$(lua5.4 -v 2>&1 | cut -d' ' -f1-2), Python $("$python" -c 'import platform; print(platform.python_version())')"
}

{
  echo "## Pools ($mode, $(date -u +%Y-%m-%d))"
  echo
  echo "Machine: $(machine)."
  echo
  echo "| pool (2 workers) | tasks/s | ratio to Python | p50 µs | p99 µs | target |"
  echo "| --- | --- | --- | --- | --- | --- |"
  for r in "${rows[@]}"; do
    v=$(get "$r" tasks_per_s)
    if [ -n "$v" ]; then
      echo "| ${title[$r]} | $(fmt_n "$v") | $(ratio "$r") | $(get "$r" p50_us) | $(get "$r" p99_us) | $(target_cell "$r") |"
    else
      echo "| ${title[$r]} | - | - | - | - | $(target_cell "$r") |"
    fi
  done
  echo
  echo "Throughput: the best of ${c_opts[3]} rounds of $(fmt_n "${c_opts[1]}") tasks (C) or ${opts[3]} rounds"
  echo "of $(fmt_n "${opts[1]}") tasks (Lua, Python), each round submitting all its tasks, then collecting"
  echo "every result (C: every done_cb run). Latency: $(fmt_n "${c_opts[5]}") (C) or $(fmt_n "${opts[5]}") (Lua, Python)"
  echo "round trips of one task submitted and its result waited for. Ratios: threads to"
  echo "ThreadPoolExecutor, processes to multiprocessing.Pool, measured in the same run."
} | tee "$tmp/table.md"

if [ "$mode" = full ]; then
  {
    cat <<'EOF'
# Pools

Trivial-task throughput and round-trip latency of our pools beside
Python's, every pool with 2 workers. Made by `bench/pools.sh --full`;
`bench/pools.sh --quick` is the short version, which leaves this page
alone. Programs: `bench/pools.c` (the C thread pool, `sel_pool_*`: a
work_cb that bumps an atomic counter, its done_cb run by
`sel_dispatch`), `bench/pools.lua` (`selectors.ThreadPool` and
`selectors.ProcessPool` on Lua 5.4: `submit(add, i, i)` then `result()`
of each, checked; latency with `apply`), `bench/pools.py`
(`ThreadPoolExecutor(2)`: `submit` + `result`; `multiprocessing.Pool(2)`:
`apply_async` + `get`), where `add` is `function(a, b) return a + b end`.
Clocks: `CLOCK_MONOTONIC` in C, LuaSocket's `gettime()` in Lua,
`time.perf_counter()` in Python.

EOF
    sed '1,2d' "$tmp/table.md"
  } >"$bench/pools.md"
  echo "Wrote $bench/pools.md."
fi

echo
echo "bench/pools.sh --$mode: $((SECONDS - start_time)) s" \
  "(C $(get c secs) s, Lua threads $(get lua_thread secs) s, Lua processes $(get lua_process secs) s," \
  "Python threads $(get py_thread secs) s, Python processes $(get py_process secs) s)"
if [ ${#failures[@]} -gt 0 ]; then
  echo "pools.sh: ${#failures[@]} note(s):"
  printf '  %s\n' "${failures[@]}"
  exit 1
fi
