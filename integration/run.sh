#!/usr/bin/env bash
# Integration runner: runs every integration/*/suite.sh. A suite prints one
# line per case: "PASS name", "FAIL name: why" or "SKIP name: why". The last
# line of this runner is "N passed, N failed" (skips are listed, not counted).
#   integration/run.sh [--build DIR] [SUITE...]
set -uo pipefail
top=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=$top/build
suites=()
while [ $# -gt 0 ]; do
  case $1 in
    --build) build=$2; shift 2 ;;
    *) suites+=("$1"); shift ;;
  esac
done
if [ ${#suites[@]} -eq 0 ]; then
  for s in "$top"/integration/*/suite.sh; do suites+=("$(basename "$(dirname "$s")")"); done
fi
build=$(cd "$build" && pwd)
export CRYO_BUILD=$build CRYO_TOP=$top
export CRYO=$build/cli/cryo

passed=0 failed=0 skipped=0
for s in "${suites[@]}"; do
  script=$top/integration/$s/suite.sh
  echo "-- suite $s"
  out=$(mktemp)
  bash "$script" >"$out" 2>&1
  rc=$?
  cat "$out"
  p=$(grep -c '^PASS ' "$out"); f=$(grep -c '^FAIL ' "$out"); k=$(grep -c '^SKIP ' "$out")
  if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
    echo "FAIL suite $s: exited $rc without naming a failed case"
    f=1
  fi
  passed=$((passed + p)); failed=$((failed + f)); skipped=$((skipped + k))
  rm -f "$out"
done
[ $skipped -gt 0 ] && echo "($skipped skipped)"
echo "$passed passed, $failed failed"
[ $failed -eq 0 ] && [ $passed -gt 0 ]
