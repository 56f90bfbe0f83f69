# shellcheck shell=bash disable=SC2034
# stress/fuzz_lib.sh - sourced by stress/fuzz_msgpack.sh and
# stress/fuzz_api.sh: runs a Lua script on Lua 5.4 and LuaJIT against the
# ASan+UBSan modules of build-asan/, as scripts/run-tests runs the specs
# (the interpreters are not sanitized, so clang's ASan runtime comes in
# with LD_PRELOAD; UBSan's handlers are in that runtime too), and tells a
# clean run from one with a sanitizer report.
# Relies on: clang (-print-file-name finds the runtime), timeout(1).
# Sets: root, asan_build, gcc_build, asan_rt, and fuzz_run's results.

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
asan_build=${SEL_ASAN_BUILD:-$root/build-asan}
gcc_build=${SEL_BUILD:-$root/build}
asan_rt=$(clang -print-file-name=libclang_rt.asan-x86_64.so 2>/dev/null || true)
# A report must fail the run: UBSan halts (the build also has
# -fno-sanitize-recover), ASan looks for leaks at exit.
export ASAN_OPTIONS="detect_leaks=1${ASAN_OPTIONS:+:$ASAN_OPTIONS}"
export UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1${UBSAN_OPTIONS:+:$UBSAN_OPTIONS}"
SANITIZER_PATTERN='runtime error|ERROR: AddressSanitizer|ERROR: LeakSanitizer|SUMMARY: [A-Za-z]*Sanitizer'

# lua_dir INTERP: the module directory name of an interpreter in a build.
lua_dir() {
  case $1 in
    luajit) echo jit ;;
    lua5.*) echo "${1#lua}" ;;
  esac
}

# sanitized_env BUILD: the env(1) arguments that load BUILD's modules, with
# the ASan runtime when BUILD is the sanitized one.
sanitized_env() {
  local build=$1 interp=$2 args=()
  args+=("LUA_CPATH=$build/lua/$(lua_dir "$interp")/?.so;;")
  args+=("LUA_PATH=$root/lua/?.lua;$root/lua/?/init.lua;;")
  [ "$build" = "$asan_build" ] && args+=("LD_PRELOAD=$asan_rt")
  printf '%s\n' "${args[@]}"
}

# probe_asan INTERP: whether INTERP runs the sanitized modules at all; on
# failure prints why (first lines of its output).
probe_asan() {
  local interp=$1 out
  if [ -z "$asan_rt" ] || [ ! -f "$asan_rt" ]; then
    echo "no ASan runtime (clang -print-file-name)"
    return 1
  fi
  [ -f "$asan_build/lua/$(lua_dir "$interp")/selectors/core.so" ] || {
    echo "no $asan_build/lua/$(lua_dir "$interp")/selectors/core.so"; return 1; }
  mapfile -t envs < <(sanitized_env "$asan_build" "$interp")
  if out=$(cd "$root" && timeout 60 env "${envs[@]}" "$interp" -e '
      local core = require "selectors.core"
      assert(core.mp_decode(core.mp_encode({1, "x"}))[2] == "x")
      local t = {}
      for i = 1, 200000 do t[i] = {i} end
      local sel = require("selectors").DefaultSelector()
      sel:close()
      print("probe ok")' 2>&1) && [[ $out == "probe ok" ]]; then
    return 0
  fi
  echo "$out" | head -n 3
  return 1
}

# fuzz_run LOG LIMIT BUILD INTERP SCRIPT ARGS...: runs the script; sets
# run_status (exit status), run_reports (sanitizer report lines in its
# output) and run_figures (its last "FIGURES ..." line).
fuzz_run() {
  local log=$1 limit=$2 build=$3 interp=$4
  shift 4
  mapfile -t envs < <(sanitized_env "$build" "$interp")
  run_status=0
  (cd "$root" && timeout -k 10 "$limit" env "${envs[@]}" "$interp" "$@") >"$log" 2>&1 || run_status=$?
  run_reports=$(grep -cE "$SANITIZER_PATTERN" "$log" || true)
  run_figures=$(grep '^FIGURES ' "$log" | tail -n 1 || true)
}

# fuzz_pick_build CHECK INTERP: sets build and tag: the sanitized build, or
# for LuaJIT that cannot run under the ASan runtime, the gcc build (said
# so).  Prints why and returns 1 when INTERP can run neither.
fuzz_pick_build() {
  local check=$1 interp=$2 why
  build=$asan_build tag=asan
  if ! command -v "$interp" >/dev/null; then
    echo "$check: no $interp on PATH"
    return 1
  fi
  why=$(probe_asan "$interp") && return 0
  if [ "$interp" = luajit ] && [ -f "$gcc_build/lua/jit/selectors/core.so" ]; then
    echo "$check: LuaJIT cannot run under the ASan runtime, so it runs against $gcc_build:"
    echo "    ${why//$'\n'/$'\n'    }"
    build=$gcc_build tag=gcc
    return 0
  fi
  echo "$check: $interp cannot run the sanitized modules:"
  echo "    ${why//$'\n'/$'\n'    }"
  return 1
}

# fuzz_judge INTERP LIMIT LOG: after fuzz_run, shows the first sanitizer
# report of LOG and says why the run failed; returns 1 if it did.
fuzz_judge() {
  local interp=$1 limit=$2 log=$3 ok=0
  if [ "$run_reports" -gt 0 ]; then
    echo "  sanitizer reports:"
    grep -m 1 -B 2 -A 40 -E "$SANITIZER_PATTERN" "$log" | sed 's/^/    /'
    ok=1
  fi
  if [ "$run_status" -eq 124 ] || [ "$run_status" -eq 137 ]; then
    echo "  $interp timed out after $limit s"
    ok=1
  elif [ "$run_status" -ne 0 ]; then
    echo "  $interp exited with status $run_status"
    ok=1
  fi
  [[ $run_figures == *status=ok* ]] || ok=1
  return $ok
}
