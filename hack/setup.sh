#!/usr/bin/env bash
# Installs every Debian package cryo needs to build and test (hack/packages.txt).
# Idempotent: when everything is installed it does nothing, so it also works
# offline after the first run.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

mapfile -t pkgs < <(grep -v '^\s*#' "$here/packages.txt" | sed 's/\s.*//' | grep -v '^$')

missing=()
for p in "${pkgs[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if [ ${#missing[@]} -eq 0 ]; then
  echo "setup: all ${#pkgs[@]} packages present"
  exit 0
fi

if [ "$(id -u)" -ne 0 ]; then
  echo "setup: missing packages (${missing[*]}); run as root to install them" >&2
  exit 1
fi

echo "setup: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
# The package lists may be absent on a fresh machine; refresh them once.
if ! apt-get install -y -q --no-install-recommends "${missing[@]}" >/tmp/cryo-setup.log 2>&1; then
  apt-get update -q >>/tmp/cryo-setup.log 2>&1
  apt-get install -y -q --no-install-recommends "${missing[@]}" >>/tmp/cryo-setup.log 2>&1 || {
    tail -20 /tmp/cryo-setup.log >&2
    echo "setup: apt-get install failed (log: /tmp/cryo-setup.log)" >&2
    exit 1
  }
fi
echo "setup: done"
