#!/usr/bin/env bash
# Installs cryo into a prefix of its own (default /opt/cryo): PREFIX/bin/cryo
# and PREFIX/bin/criu, the name CRIU's clients look for, pointing at it.
# The distribution's /usr/sbin/criu is left alone; point a client at cryo
# the way it looks for criu:
#   runc --criu PREFIX/bin/criu ...            (runc)
#   PATH=PREFIX/bin:$PATH                      (containerd's runc, Podman, LXC)
#   hack/install.sh [PREFIX]
set -euo pipefail
top=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
prefix=${1:-/opt/cryo}
build=${CRYO_BUILD_DIR:-$top/build}
[ -x "$build/cli/cryo" ] || "$top/hack/build.sh" >/dev/null
case $prefix in /usr | /usr/ | /usr/local/sbin | /usr/sbin | /sbin | /bin | /usr/bin)
  echo "install.sh: $prefix is the system's; give cryo a prefix of its own (default /opt/cryo)" >&2; exit 1 ;;
esac
install -d "$prefix/bin"
install -m 0755 "$build/cli/cryo" "$prefix/bin/cryo"
ln -sfn cryo "$prefix/bin/criu"
echo "installed $prefix/bin/cryo and $prefix/bin/criu -> cryo"
