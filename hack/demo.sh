#!/usr/bin/env bash
# The main job, end to end: start a counter, checkpoint it with cryo, kill it,
# restore it, and watch it count on from where it was.
set -euo pipefail
top=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
"$top/hack/setup.sh"
"$top/hack/build.sh" >/dev/null
cryo=$top/build/cli/cryo
counter=$top/build/integration/counter
spawn=$top/build/integration/programs/spawn

work=$(mktemp -d /tmp/cryo-demo.XXXXXX)
pid=
cleanup() {
  [ -n "$pid" ] && kill -9 "$pid" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

echo "== cryo --version"
"$cryo" --version
echo "== cryo check"
"$cryo" check || true

echo "== starting the counter (output: $work/counter.out)"
# A new session and no inherited fds: the counter holds nothing of this shell's.
pid=$("$spawn" -o "$work/counter.out" "$counter")
sleep 1
echo "counter pid $pid, last count: $(tail -n1 "$work/counter.out")"

echo "== cryo dump -t $pid -D $work/img"
mkdir -p "$work/img"
if ! "$cryo" dump -t "$pid" -D "$work/img" -o dump.log -v4; then
  echo
  echo "demo: dump is not available in this build yet (the engine lands with issue 3)."
  echo "demo: what works today: --version, check, show, the image library and its tests."
  exit 0
fi
