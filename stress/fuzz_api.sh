#!/usr/bin/env bash
# fuzz_api.sh MODE - random API calls under ASan+UBSan (issue 12).
# Runs stress/fuzz_api.lua (random, often invalid calls on selectors,
# sockets, timers and pools, with consistency checks after each step) on
# Lua 5.4 and on LuaJIT against the sanitized modules of build-asan/;
# fails on a crash, a hang, a sanitizer report, a leak, a leaked internal
# error message or a broken invariant that the Lua side reports.
#   MODE           quick (2,500 steps per interpreter, ~5,000 calls in all)
#                  or full (17,000 per interpreter, ~35,000 calls)
#   SEL_ASAN_BUILD the ASan+UBSan build (default: the tree's build-asan/)
#   SEL_BUILD      the gcc build, used for LuaJIT only if LuaJIT cannot run
#                  under the ASan runtime (the RESULT line then says
#                  luajit_build=gcc)
#   SEED           replaces the fixed seed (printed in the RESULT line)
#   SEL_FUZZ_ALLOW a file of patterns of known leaked messages to tolerate,
#                  while a defect is being fixed (default: none)
#   SEL_FUZZ_MESSAGES  set to list every distinct error message raised
#   SEL_FUZZ_KEEP  set to keep the journal (one line a step) and the log of
#                  a run that fails (a timeout shows the journal's tail)
# Relies on lua5.4, luajit, clang's ASan runtime, timeout(1), loopback
# networking (see stress/fuzz_lib.sh). The last line is "RESULT check=fuzz_api
# status=ok|FAIL ..."; exit 0 only when ok.
set -uo pipefail

# shellcheck source=stress/fuzz_lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/fuzz_lib.sh"

mode=${1:-quick}
case $mode in
  quick) steps=2500 limit=600 ;;
  full) steps=17000 limit=3600 ;;
  *) echo "usage: $0 quick|full" >&2; exit 2 ;;
esac
seed=${SEED:-12003}
if [ -n "${SEL_FUZZ_ALLOW:-}" ]; then
  SEL_FUZZ_ALLOW=$(cd "$(dirname "$SEL_FUZZ_ALLOW")" && pwd)/$(basename "$SEL_FUZZ_ALLOW")
  export SEL_FUZZ_ALLOW
fi
work=$(mktemp -d "${TMPDIR:-/tmp}/sel-fuzz-api.XXXXXX")
keep=no
trap '[ "$keep" = yes ] || rm -rf "$work"' EXIT

status=ok
result=()
total=0
for interp in lua5.4 luajit; do
  short=${interp//./}
  if ! fuzz_pick_build fuzz_api "$interp"; then
    status=FAIL
    result+=("${short}=cannot_run")
    continue
  fi
  echo "== $interp against $build ($steps steps, seed $seed)"
  mkdir -p "$work/$short"
  t0=$SECONDS
  fuzz_run "$work/$short.log" "$limit" "$build" "$interp" stress/fuzz_api.lua "$steps" "$seed" \
    "$work/$short" "$work/$short.journal"
  grep -v '^FIGURES ' "$work/$short.log" | grep -vE "$SANITIZER_PATTERN" | head -n 60
  calls=$(echo "$run_figures" | sed -n 's/.* calls=\([0-9]*\).*/\1/p')
  findings=$(echo "$run_figures" | sed -n 's/.* findings=\([0-9]*\).*/\1/p')
  tolerated=$(echo "$run_figures" | sed -n 's/.* tolerated=\([0-9]*\).*/\1/p')
  if ! fuzz_judge "$interp" "$limit" "$work/$short.log"; then
    status=FAIL
    if [ "$run_status" -eq 124 ] || [ "$run_status" -eq 137 ]; then
      echo "  the last steps were:"
      tail -n 5 "$work/$short.journal" | sed 's/^/    /'
    fi
    if [ -n "${SEL_FUZZ_KEEP:-}" ]; then
      keep=yes
      echo "  journal and log kept: $work/$short.journal $work/$short.log"
    fi
  fi
  total=$((total + ${calls:-0}))
  result+=("${short}_build=$tag" "${short}_calls=${calls:-0}" "${short}_findings=${findings:-?}"
           "${short}_tolerated=${tolerated:-?}" "${short}_sanitizer_reports=$run_reports"
           "${short}_exit=$run_status" "${short}_seconds=$((SECONDS - t0))")
done
allow=none
[ -n "${SEL_FUZZ_ALLOW:-}" ] && allow=$(basename "$SEL_FUZZ_ALLOW")
echo "RESULT check=fuzz_api status=$status mode=$mode seed=$seed calls=$total allow=$allow ${result[*]}"
[ "$status" = ok ]
