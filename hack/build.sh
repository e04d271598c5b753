#!/usr/bin/env bash
# Configures and builds cryo into build/ (or $CRYO_BUILD_DIR).
# CRYO_SANITIZE=1 builds with ASan+UBSan.
set -euo pipefail
top=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=${CRYO_BUILD_DIR:-$top/build}
args=(-G Ninja -DCMAKE_BUILD_TYPE=${CRYO_BUILD_TYPE:-RelWithDebInfo})
[ "${CRYO_SANITIZE:-0}" = 1 ] && args+=(-DCRYO_SANITIZE=ON)
cmake -S "$top" -B "$build" "${args[@]}" >/dev/null
ninja -C "$build" "$@"
