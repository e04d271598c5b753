#!/usr/bin/env bash
# Sets up, builds and runs every test: unit tests (ctest), a short fuzz run
# and the integration suite. Exits non-zero if any part fails.
set -uo pipefail
top=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$top"

"$top/hack/setup.sh" || exit 1
"$top/hack/build.sh" || { echo "test: build failed" >&2; exit 1; }

status=0
echo "== unit tests"
ctest --test-dir "$top/build" --output-on-failure -j2 --timeout 600 || status=1

echo "== fuzz"
"$top/hack/fuzz.sh" || status=1

echo "== integration"
"$top/integration/run.sh" --build "$top/build" || status=1

[ $status -eq 0 ] && echo "test: all passed" || echo "test: FAILED" >&2
exit $status
