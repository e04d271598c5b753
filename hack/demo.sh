#!/usr/bin/env bash
# The main job, end to end: start a counter, checkpoint it with cryo, kill it,
# restore it, and watch it count on from where it was.
set -euo pipefail
top=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
if [ -z "${CRYO_UNDER_REAPER:-}" ]; then
  "$top/hack/setup.sh"
  "$top/hack/build.sh" >/dev/null
  # Under a subreaper: the dumped counter and the restored one are reaped
  # by us, not left as zombies holding their pid.
  CRYO_UNDER_REAPER=1 exec "$top/build/integration/programs/reaper" bash "$0" "$@"
fi
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

echo "== cryo dump -t $pid -D $work/img   (dumps, then kills the counter)"
mkdir -p "$work/img"
"$cryo" dump -t "$pid" -D "$work/img" -o dump.log -v4 --display-stats
sleep 0.5
if kill -0 "$pid" 2>/dev/null && [ "$(awk '{print $3}' /proc/"$pid"/stat)" != Z ]; then
  echo "demo: the counter still runs after dump?" >&2
  exit 1
fi
last=$(tail -n1 "$work/counter.out")
echo "counter is gone; its last count was $last"
echo "images: $(cd "$work/img" && ls | tr '\n' ' ')"
crit x "$work/img" ps 2>/dev/null || true

echo "== cryo restore -D $work/img -d"
"$cryo" restore -D "$work/img" -d -o restore.log -v4 --pidfile "$work/pid" --display-stats
pid=$(cat "$work/pid")
sleep 1
echo "restored as pid $pid; it counts on:"
tail -n 4 "$work/counter.out" | tr '\n' ' '
echo
now=$(tail -n1 "$work/counter.out")
if [ "$now" -gt "$last" ]; then
  echo "demo: OK, the counter went on from $last to $now"
else
  echo "demo: FAILED, the counter did not continue ($last -> $now)" >&2
  exit 1
fi
