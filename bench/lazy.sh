#!/usr/bin/env bash
# Lazy restore against a full one, from the same images in the same run: a
# memhog holding MIB mebibytes of non-zero data is dumped once, then
# restored in full, and restored with --lazy-pages (cryo lazy-pages
# filling its memory from the images). Printed: ms until the restore
# returned with the process running, ms until the process had done real
# work (one rewrite of a page in 16 after SIGUSR1, the worst case for lazy
# pages: a fault per page touched), ms until the daemon had every page in,
# and the ratio full / lazy of the time to running.
#   bench/lazy.sh [SIZES_MIB...]
set -euo pipefail
. "$(dirname "$0")/lib.sh"
sizes=("$@")
[ ${#sizes[@]} -eq 0 ] && sizes=(256 1024)

printf "%6s %16s %14s %16s %14s %15s %14s\n" MiB full_restore_ms full_work_ms lazy_restore_ms lazy_work_ms lazy_all_in_ms running_ratio
for mib in "${sizes[@]}"; do
  w=$(mktemp -d /tmp/cryo-bench-lazy.XXXXXX)
  mkdir -p "$w/img"
  pid=$(memhog_start "$w" "$mib")
  "$cryo" dump -t "$pid" -D "$w/img" -o dump.log >/dev/null
  gone "$pid"
  # Full.
  sync; echo 1 >/proc/sys/vm/drop_caches 2>/dev/null || true
  s=$(date +%s%N)
  "$cryo" restore -D "$w/img" -d -o restore.log --pidfile "$w/rpid" >/dev/null
  full_ms=$(ms "$s")
  memhog_rewrite "$w" "$(cat "$w/rpid")"
  full_work=$(ms "$s")
  kill -9 "$(cat "$w/rpid")"; gone "$(cat "$w/rpid")"
  # Lazy.
  sync; echo 1 >/proc/sys/vm/drop_caches 2>/dev/null || true
  rm -f "$w/ready"
  "$cryo" lazy-pages -D "$w/img" -o lazy.log --status-fd 9 9>"$w/ready" >/dev/null 2>&1 &
  dpid=$!
  for _ in $(seq 1000); do [ -s "$w/ready" ] && break; sleep 0.01; done
  s=$(date +%s%N)
  "$cryo" restore -D "$w/img" --lazy-pages -d -o restore.log --pidfile "$w/rpid" >/dev/null
  lazy_ms=$(ms "$s")
  memhog_rewrite "$w" "$(cat "$w/rpid")"
  lazy_work=$(ms "$s")
  wait "$dpid"
  all_in=$(ms "$s")
  kill -9 "$(cat "$w/rpid")"; gone "$(cat "$w/rpid")"
  printf "%6s %16s %14s %16s %14s %15s %14s\n" "$mib" "$full_ms" "$full_work" "$lazy_ms" "$lazy_work" "$all_in" \
    "$(awk -v a="$full_ms" -v b="$lazy_ms" 'BEGIN { if (b > 0) printf "%.1fx", a / b; else print "-" }')"
  rm -rf "$w"
done
