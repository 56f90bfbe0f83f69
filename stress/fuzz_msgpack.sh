#!/usr/bin/env bash
# fuzz_msgpack.sh MODE - MessagePack fuzzing under ASan+UBSan (issue 12).
# Runs stress/fuzz_msgpack.lua (random frames, mutated valid frames,
# hostile headers, round trips of random values) on Lua 5.4 and on LuaJIT
# against the sanitized modules of build-asan/; fails on a crash, a
# sanitizer report, a leak, or a broken invariant the Lua side reports.
#   MODE           quick (25,000 frames per interpreter, 50,000 in all) or
#                  full (500,000 per interpreter, 1,000,000 in all)
#   SEL_ASAN_BUILD the ASan+UBSan build (default: the tree's build-asan/)
#   SEL_BUILD      the gcc build, used for LuaJIT only if LuaJIT cannot run
#                  under the ASan runtime (the RESULT line then says
#                  luajit_build=gcc)
#   SEED           replaces the fixed seed (printed in the RESULT line);
#                  the same seed replays the same inputs on one interpreter
# Relies on lua5.4, luajit, clang's ASan runtime and timeout(1) (see
# stress/fuzz_lib.sh). The last line is "RESULT check=fuzz_msgpack
# status=ok|FAIL ..."; exit 0 only when ok.
set -uo pipefail

# shellcheck source=stress/fuzz_lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/fuzz_lib.sh"

mode=${1:-quick}
case $mode in
  quick) frames=25000 limit=600 ;;
  full) frames=500000 limit=10800 ;;
  *) echo "usage: $0 quick|full" >&2; exit 2 ;;
esac
seed=${SEED:-12002}
logs=$(mktemp -d "${TMPDIR:-/tmp}/sel-fuzz-msgpack.XXXXXX")
trap 'rm -rf "$logs"' EXIT

status=ok
result=()
total=0
for interp in lua5.4 luajit; do
  short=${interp//./}
  if ! fuzz_pick_build fuzz_msgpack "$interp"; then
    status=FAIL
    result+=("${short}=cannot_run")
    continue
  fi
  echo "== $interp against $build ($frames frames, seed $seed)"
  t0=$SECONDS
  fuzz_run "$logs/$interp.log" "$limit" "$build" "$interp" stress/fuzz_msgpack.lua "$frames" "$seed"
  grep -v '^FIGURES ' "$logs/$interp.log" | grep -vE "$SANITIZER_PATTERN" | head -n 40
  got=$(echo "$run_figures" | sed -n 's/.* frames=\([0-9]*\).*/\1/p')
  failures=$(echo "$run_figures" | sed -n 's/.* failures=\([0-9]*\).*/\1/p')
  fuzz_judge "$interp" "$limit" "$logs/$interp.log" || status=FAIL
  total=$((total + ${got:-0}))
  result+=("${short}_build=$tag" "${short}_frames=${got:-0}" "${short}_failures=${failures:-?}"
           "${short}_sanitizer_reports=$run_reports" "${short}_exit=$run_status"
           "${short}_seconds=$((SECONDS - t0))")
done
echo "RESULT check=fuzz_msgpack status=$status mode=$mode seed=$seed frames=$total ${result[*]}"
[ "$status" = ok ]
