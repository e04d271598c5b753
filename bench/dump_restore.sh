#!/usr/bin/env bash
# Dump and restore throughput: a process holding 1 MiB, 256 MiB and 1 GiB of
# non-zero data is dumped and restored; wall time, frozen time and GB/s are
# printed next to the time the process took to first-touch that memory (the
# baseline measured in the same run), and the dumper's peak RSS. CRIU=path runs the same workloads
# through another criu-compatible binary for comparison.
#   bench/dump_restore.sh [SIZES_MIB...]
set -euo pipefail
. "$(dirname "$0")/lib.sh"
sizes=("$@")
[ ${#sizes[@]} -eq 0 ] && sizes=(1 256 1024)
tools=("cryo=$build/cli/cryo")
[ -n "${CRIU:-}" ] && tools+=("criu=$CRIU")

printf "%-6s %6s %10s %10s %10s %10s %10s %12s %14s\n" tool MiB touch_ms dump_ms frozen_ms restore_ms dump_GB/s restore_GB/s dump_maxrss_MiB
for t in "${tools[@]}"; do
  name=${t%%=*}; bin=${t#*=}
  for mib in "${sizes[@]}"; do
    w=$(mktemp -d /tmp/cryo-bench.XXXXXX)
    pid=$("$spawn" -o "$w/out" "$build/bench/memhog" "$mib")
    for _ in $(seq 1000); do grep -q touch_us "$w/out" 2>/dev/null && break; sleep 0.01; done
    touch_ms=$(awk '/touch_us/ {printf "%.1f", $2/1000}' "$w/out")
    mkdir "$w/img"
    s=$(date +%s%N); /usr/bin/time -f %M -o "$w/rss" "$bin" dump -t "$pid" -D "$w/img" -o dump.log >/dev/null; dump_ms=$(ms "$s")
    rss_mib=$(awk '{printf "%.1f", $1/1024}' "$w/rss")
    frozen_ms=$("$build/cli/cryo" show --no-pretty "$w/img/stats-dump" 2>/dev/null |
      /usr/bin/python3 -c 'import json,sys; print("%.1f" % (json.load(sys.stdin)["entries"][0]["dump"]["frozen_time"]/1000))' 2>/dev/null || echo "?")
    for _ in $(seq 200); do kill -0 "$pid" 2>/dev/null || break; [ "$(awk '{print $3}' /proc/$pid/stat 2>/dev/null)" = Z ] && break; sleep 0.01; done
    sleep 0.05
    s=$(date +%s%N); "$bin" restore -D "$w/img" -d -o restore.log >/dev/null; restore_ms=$(ms "$s")
    kill -9 "$pid" 2>/dev/null || true
    gbs() { awk -v m="$mib" -v t="$1" 'BEGIN { if (t > 0) printf "%.2f", m / 1024 / (t / 1000); else print "-" }'; }
    printf "%-6s %6s %10s %10s %10s %10s %10s %12s %14s\n" "$name" "$mib" "$touch_ms" "$dump_ms" "$frozen_ms" "$restore_ms" "$(gbs "$dump_ms")" "$(gbs "$restore_ms")" "$rss_mib"
    rm -rf "$w"
  done
done
