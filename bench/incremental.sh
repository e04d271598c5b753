#!/usr/bin/env bash
# Incremental dumps against a full one, in the same run: a process holding
# MIB mebibytes of non-zero data rewrites one page in 16; a full dump of it
# is compared with a pre-dump before the rewrite plus a dump with
# --prev-images-dir after it. Printed: wall and frozen ms of each, pages
# the final dump wrote, and the ratio of frozen time full / incremental
# (the time the program stands still, which is what pre-dump is for).
#   bench/incremental.sh [SIZES_MIB...]
set -euo pipefail
top=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=${CRYO_BUILD:-$top/build}
if [ -z "${CRYO_UNDER_REAPER:-}" ]; then
  "$top/hack/build.sh" >/dev/null
  CRYO_UNDER_REAPER=1 exec "$build/integration/programs/reaper" bash "$0" "$@"
fi
sizes=("$@")
[ ${#sizes[@]} -eq 0 ] && sizes=(256 1024)
cryo=$build/cli/cryo
spawn=$build/integration/programs/spawn
ms() { echo $(( ($(date +%s%N) - $1) / 1000000 )); }
stat_of() {  # images dir, field of dump stats
  "$cryo" show --no-pretty "$1/stats-dump" | /usr/bin/python3 -c "import json,sys; d=json.load(sys.stdin)['entries'][0]['dump']; print(d.get('$2', 0))"
}
frozen() { awk -v u="$(stat_of "$1" frozen_time)" 'BEGIN { printf "%.1f", u / 1000 }'; }
start() {  # dir mib: a memhog that has touched its memory (its output in DIR/out)
  local pid
  rm -f "$1/out"
  pid=$("$spawn" -o "$1/out" "$build/bench/memhog" "$2")
  for _ in $(seq 1000); do grep -q touch_us "$1/out" 2>/dev/null && break; sleep 0.01; done
  echo "$pid"
}
rewrite() {  # dir pid: one more round of rewrites, waited for
  local before; before=$(grep -c rewrote "$1/out" || true)
  kill -USR1 "$2"
  for _ in $(seq 1000); do [ "$(grep -c rewrote "$1/out" || true)" -gt "$before" ] && return; sleep 0.01; done
  echo "memhog did not rewrite" >&2; exit 1
}
gone() { for _ in $(seq 500); do kill -0 "$1" 2>/dev/null || return 0; [ "$(awk '{print $3}' /proc/"$1"/stat 2>/dev/null)" = Z ] && return 0; sleep 0.01; done; }

printf "%6s %12s %14s %14s %16s %14s %16s %18s %14s\n" MiB full_dump_ms full_frozen_ms pre_dump_ms pre_frozen_ms incr_dump_ms incr_frozen_ms incr_pages_written frozen_ratio
for mib in "${sizes[@]}"; do
  w=$(mktemp -d /tmp/cryo-bench-incr.XXXXXX)
  mkdir -p "$w/full" "$w/pre" "$w/img"
  pid=$(start "$w" "$mib")
  rewrite "$w" "$pid"
  s=$(date +%s%N); "$cryo" dump -t "$pid" -D "$w/full" -o dump.log >/dev/null; full_ms=$(ms "$s")
  gone "$pid"
  pid=$(start "$w" "$mib")
  s=$(date +%s%N); "$cryo" pre-dump -t "$pid" -D "$w/pre" -o dump.log >/dev/null; pre_ms=$(ms "$s")
  rewrite "$w" "$pid"
  s=$(date +%s%N); "$cryo" dump -t "$pid" -D "$w/img" --prev-images-dir ../pre --track-mem -o dump.log >/dev/null
  incr_ms=$(ms "$s")
  gone "$pid"
  ff=$(frozen "$w/full"); fi=$(frozen "$w/img")
  printf "%6s %12s %14s %14s %16s %14s %16s %18s %14s\n" "$mib" "$full_ms" "$ff" "$pre_ms" "$(frozen "$w/pre")" "$incr_ms" "$fi" \
    "$(stat_of "$w/img" pages_written)" "$(awk -v a="$ff" -v b="$fi" 'BEGIN { if (b > 0) printf "%.1fx", a / b; else print "-" }')"
  # The chain restores: its pages come from both dirs.
  "$cryo" restore -D "$w/img" -d -o restore.log --pidfile "$w/rpid" >/dev/null
  kill -9 "$(cat "$w/rpid")" 2>/dev/null || true
  rm -rf "$w"
done
