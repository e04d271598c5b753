# Sourced first by the bench scripts (`. "$(dirname "$0")/lib.sh"`): the
# build (made first), the script run again under cryo's subreaper (dumped
# and restored programs must be reaped), and helpers.
top=$(cd "$(dirname "${BASH_SOURCE[1]}")/.." && pwd)
build=${CRYO_BUILD:-$top/build}
if [ -z "${CRYO_UNDER_REAPER:-}" ]; then
  "$top/hack/build.sh" >/dev/null
  CRYO_UNDER_REAPER=1 exec "$build/integration/programs/reaper" bash "$0" "$@"
fi
cryo=$build/cli/cryo
spawn=$build/integration/programs/spawn
# Milliseconds since a `date +%s%N` stamp.
ms() { echo $(( ($(date +%s%N) - $1) / 1000000 )); }
memhog_start() {  # dir mib: a memhog that has touched its memory (its output in DIR/out)
  local pid
  rm -f "$1/out"
  pid=$("$spawn" -o "$1/out" "$build/bench/memhog" "$2")
  for _ in $(seq 1000); do grep -q touch_us "$1/out" 2>/dev/null && break; sleep 0.01; done
  echo "$pid"
}
# Waits (5 s at most) until PID is gone or a zombie.
gone() { for _ in $(seq 500); do kill -0 "$1" 2>/dev/null || return 0; [ "$(awk '{print $3}' /proc/"$1"/stat 2>/dev/null)" = Z ] && return 0; sleep 0.01; done; }
memhog_rewrite() {  # dir pid: one more round of rewrites, waited for
  local before; before=$(grep -c rewrote "$1/out" || true)
  kill -USR1 "$2"
  for _ in $(seq 1000); do [ "$(grep -c rewrote "$1/out" || true)" -gt "$before" ] && return; sleep 0.01; done
  echo "memhog did not rewrite" >&2; exit 1
}
