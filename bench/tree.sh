#!/usr/bin/env bash
# Process-tree scaling: trees of 100 and 1000 sleeping processes (64 KiB
# touched each) are dumped and restored; wall times and the cost per process
# are printed next to the time the tree took to create itself (fork + touch,
# the baseline measured in the same run) as ratios. CRIU=path runs the same
# workloads through another criu-compatible binary for comparison.
#   bench/tree.sh [SIZES...]
set -euo pipefail
. "$(dirname "$0")/lib.sh"
sizes=("$@")
[ ${#sizes[@]} -eq 0 ] && sizes=(100 1000)
tools=("cryo=$build/cli/cryo")
[ -n "${CRIU:-}" ] && tools+=("criu=$CRIU")
kill_tree() {  # root pid
  local kids
  kids=$(cat /proc/"$1"/task/"$1"/children 2>/dev/null || true)
  kill -9 "$1" $kids 2>/dev/null || true
}
wait_free() {  # pids...: until none of them exists
  local p
  for _ in $(seq 500); do
    for p in "$@"; do [ -e /proc/"$p" ] && break; p=""; done
    [ -z "$p" ] && return 0
    sleep 0.01
  done
}

# Images go to a tmpfs (CRYO_BENCH_DIR, default /dev/shm): this machine's
# ext4 (no journal) spends seconds finding a free inode for each new file
# while many were deleted recently (ext4's recently_deleted scan), which
# would measure the disk's history, not cryo. Image directories are
# removed at the end for the same reason.
base=${CRYO_BENCH_DIR:-/dev/shm}
dirs=()
trap 'rm -rf "${dirs[@]}"' EXIT
printf "%-6s %6s %10s %10s %12s %10s %12s %14s %16s\n" tool procs spawn_ms dump_ms dump_us/proc restore_ms restore_us/proc dump/spawn restore/spawn
for t in "${tools[@]}"; do
  name=${t%%=*}; bin=${t#*=}
  for n in "${sizes[@]}"; do
    w=$(mktemp -d "$base/cryo-bench-tree.XXXXXX")
    dirs+=("$w")
    pid=$("$spawn" -o "$w/out" "$build/bench/treehog" "$n")
    for _ in $(seq 3000); do grep -q spawn_us "$w/out" 2>/dev/null && break; sleep 0.01; done
    spawn_ms=$(awk '/spawn_us/ {printf "%.1f", $2/1000}' "$w/out")
    kids=$(cat /proc/"$pid"/task/"$pid"/children)
    mkdir "$w/img"
    s=$(date +%s%N); "$bin" dump -t "$pid" -D "$w/img" -o dump.log >/dev/null; dump_ms=$(ms "$s")
    # shellcheck disable=SC2086
    wait_free "$pid" $kids
    s=$(date +%s%N); "$bin" restore -D "$w/img" -d -o restore.log >/dev/null; restore_ms=$(ms "$s")
    got=$(wc -w </proc/"$pid"/task/"$pid"/children)
    [ "$got" -eq $((n - 1)) ] || echo "warning: $name restored $((got + 1)) of $n processes" >&2
    kill_tree "$pid"
    # shellcheck disable=SC2086
    wait_free "$pid" $kids
    per() { awk -v t="$1" -v n="$n" 'BEGIN { printf "%.0f", t * 1000 / n }'; }
    ratio() { awk -v a="$1" -v b="$spawn_ms" 'BEGIN { if (b > 0) printf "%.1fx", a / b; else print "-" }'; }
    printf "%-6s %6s %10s %10s %12s %10s %12s %14s %16s\n" "$name" "$n" "$spawn_ms" "$dump_ms" "$(per "$dump_ms")" \
      "$restore_ms" "$(per "$restore_ms")" "$(ratio "$dump_ms")" "$(ratio "$restore_ms")"
  done
done
