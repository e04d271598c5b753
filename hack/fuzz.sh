#!/usr/bin/env bash
# Builds the libFuzzer targets with clang-16 into build-fuzz/ and runs each
# for $CRYO_FUZZ_SECONDS (default 20) from a seed corpus of real images.
set -euo pipefail
top=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
build=${CRYO_FUZZ_BUILD_DIR:-$top/build-fuzz}
secs=${CRYO_FUZZ_SECONDS:-20}
cmake -S "$top" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DCMAKE_C_COMPILER=clang-16 -DCMAKE_CXX_COMPILER=clang++-16 -DCRYO_FUZZ=ON >/dev/null
ninja -C "$build" cryo_image_fuzz

corpus=$(mktemp -d /tmp/cryo-fuzz-corpus.XXXXXX)
trap 'rm -rf "$corpus"' EXIT
# Seeds: the checked-in sample images, when present, plus minimal headers.
if [ -d "$top/integration/images/seeds" ]; then cp "$top"/integration/images/seeds/* "$corpus"/ 2>/dev/null || true; fi
printf '\x19\x43\x56\x54\x30\x30\x27\x50\x04\x00\x00\x00\x08\x01\x10\x00' >"$corpus/pstree"
printf '\x16\x31\x31\x58\x04\x00\x00\x00\x08\x02\x10\x01' >"$corpus/inventory"

echo "fuzz: cryo_image_fuzz for ${secs}s"
"$build/engine/image/cryo_image_fuzz" -max_total_time="$secs" -rss_limit_mb=1024 \
  -malloc_limit_mb=256 -print_final_stats=1 "$corpus" 2>"$build/fuzz-image.log" || {
  tail -40 "$build/fuzz-image.log" >&2
  echo "fuzz: cryo_image_fuzz found a crash (log: $build/fuzz-image.log)" >&2
  exit 1
}
grep -E '^stat::number_of_executed_units' "$build/fuzz-image.log" || true
echo "fuzz: no crash"
