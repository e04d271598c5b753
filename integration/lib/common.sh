# Sourced first by the integration suites: the build's tools, the suite
# run again under cryo's subreaper (dumped and restored programs must be
# reaped, and this sandbox's init does not), and helpers they all use.
#   . "$(dirname "$0")/../lib/common.sh"
set -uo pipefail
build=${CRYO_BUILD:?}
cryo=${CRYO:-$build/cli/cryo}
if [ -z "${CRYO_UNDER_REAPER:-}" ]; then
  CRYO_UNDER_REAPER=1 exec "$build/integration/programs/reaper" bash "$0" "$@"
fi
spawn=$build/integration/programs/spawn
# A process that runs (not a zombie).
alive() { kill -0 "$1" 2>/dev/null && [ "$(awk '{print $3}' /proc/"$1"/stat 2>/dev/null)" != Z ]; }
# Decodes every image in DIR with Debian's crit, the raw ones it refuses
# aside; names the first it cannot decode and returns 1.
crit_decode_all() {
  local f
  for f in "$1"/*.img; do
    case $(basename "$f") in
      pages-* | tmpfs-* | posix-mq.img | ifaddr-* | route-* | route6-* | rule-* | iptables-* | ip6tables-* | nftables-*) continue ;;
    esac
    /usr/bin/crit decode -i "$f" >/dev/null 2>&1 || { echo "crit cannot decode $(basename "$f")"; return 1; }
  done
}
