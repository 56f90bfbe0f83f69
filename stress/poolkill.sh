#!/usr/bin/env bash
# poolkill.sh MODE - ProcessPool workers SIGKILLed under load (issue 12).
# Runs stress/poolkill.lua on Lua 5.4 against the gcc build's modules: a
# 4-worker ProcessPool, T tasks, K SIGKILLs of busy workers; checks that
# no task is lost, failures name SIGKILL, values are right, and that after
# join no zombie, unreaped pid or extra descriptor is left.
#   MODE      quick (300 tasks, 30 kills) or full (2,000 tasks, 200 kills)
#   SEL_BUILD the gcc build directory (default: the tree's build/)
#   SEED      replaces the fixed seed (printed in the RESULT line)
# Relies on lua5.4, Linux /proc, kill(1), timeout(1). The last line is
# "RESULT check=poolkill status=ok|FAIL ..."; exit 0 only when ok.
set -uo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
mode=${1:-quick}
case $mode in
  quick) tasks=300 kills=30 limit=240 ;;
  full) tasks=2000 kills=200 limit=900 ;;
  *) echo "usage: $0 quick|full" >&2; exit 2 ;;
esac
seed=${SEED:-12001}
build=${SEL_BUILD:-$root/build}

fail() {
  echo "poolkill: $1"
  echo "RESULT check=poolkill status=FAIL seed=$seed mode=$mode reason=$2"
  exit 1
}

[ -f "$build/lua/5.4/selectors/core.so" ] || fail "no $build/lua/5.4/selectors/core.so: build first" no_build
command -v lua5.4 >/dev/null || fail "no lua5.4 on PATH" no_lua

markers=$(mktemp -d "${TMPDIR:-/tmp}/sel-poolkill.XXXXXX")
out=$markers.out
trap 'rm -rf "$markers" "$out"' EXIT

status=0
(cd "$root" && LUA_CPATH="$build/lua/5.4/?.so;;" LUA_PATH="$root/lua/?.lua;$root/lua/?/init.lua;;" \
  timeout -k 10 "$limit" lua5.4 stress/poolkill.lua "$tasks" "$kills" "$seed" "$markers") \
  >"$out" 2>&1 || status=$?
grep -v '^RESULT ' "$out"
result=$(grep '^RESULT ' "$out" | tail -n 1)
if [ -z "$result" ]; then
  [ "$status" -eq 124 ] && fail "timed out after $limit s" timeout
  fail "lua5.4 exited with status $status and no RESULT line" "exit_$status"
fi
if [ "$status" -ne 0 ] && [[ $result == *status=ok* ]]; then
  fail "lua5.4 exited with status $status after an ok RESULT" "exit_$status"
fi
echo "${result/ seed=/ mode=$mode seed=}"
[[ $result == *status=ok* ]]
