#!/usr/bin/env bash
# Incremental dumps against a full one, in the same run: a process holding
# MIB mebibytes of non-zero data rewrites one page in 16; a full dump of it
# is compared with a pre-dump before the rewrite plus a dump with
# --prev-images-dir after it. Printed: wall and frozen ms of each, pages
# the final dump wrote, and the ratio of frozen time full / incremental
# (the time the program stands still, which is what pre-dump is for).
#   bench/incremental.sh [SIZES_MIB...]
set -euo pipefail
. "$(dirname "$0")/lib.sh"
sizes=("$@")
[ ${#sizes[@]} -eq 0 ] && sizes=(256 1024)
stat_of() {  # images dir, field of dump stats
  "$cryo" show --no-pretty "$1/stats-dump" | /usr/bin/python3 -c "import json,sys; d=json.load(sys.stdin)['entries'][0]['dump']; print(d.get('$2', 0))"
}
frozen() { awk -v u="$(stat_of "$1" frozen_time)" 'BEGIN { printf "%.1f", u / 1000 }'; }

printf "%6s %12s %14s %14s %16s %14s %16s %18s %14s\n" MiB full_dump_ms full_frozen_ms pre_dump_ms pre_frozen_ms incr_dump_ms incr_frozen_ms incr_pages_written frozen_ratio
for mib in "${sizes[@]}"; do
  w=$(mktemp -d /tmp/cryo-bench-incr.XXXXXX)
  mkdir -p "$w/full" "$w/pre" "$w/img"
  pid=$(memhog_start "$w" "$mib")
  memhog_rewrite "$w" "$pid"
  s=$(date +%s%N); "$cryo" dump -t "$pid" -D "$w/full" -o dump.log >/dev/null; full_ms=$(ms "$s")
  gone "$pid"
  pid=$(memhog_start "$w" "$mib")
  s=$(date +%s%N); "$cryo" pre-dump -t "$pid" -D "$w/pre" -o dump.log >/dev/null; pre_ms=$(ms "$s")
  memhog_rewrite "$w" "$pid"
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
