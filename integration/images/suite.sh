#!/usr/bin/env bash
# Images written by cryo's library read back by Debian's crit, and `cryo
# show` agreeing with crit field by field. Needs crit (package criu).
set -uo pipefail
build=${CRYO_BUILD:?}
cryo=${CRYO:-$build/cli/cryo}
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
if [ ! -x /usr/bin/crit ]; then
  echo "SKIP images: /usr/bin/crit is missing (package criu)"
  exit 0
fi
d=$(mktemp -d /tmp/cryo-images.XXXXXX)
trap 'rm -rf "$d"' EXIT

if ! "$build/integration/write_sample_images" "$d" 2>"$d.err"; then
  echo "FAIL images/write: $(cat "$d.err")"; rm -f "$d.err"; exit 1
fi
rm -f "$d.err"

for f in "$d"/*; do
  name=$(basename "$f")
  case $name in pages-*) continue ;; esac
  if ! out=$(/usr/bin/crit decode -i "$f" 2>&1 >/dev/null); then
    echo "FAIL images/crit-decode/$name: $out"; continue
  fi
  echo "PASS images/crit-decode/$name"
  for mode in "" --pretty; do
    if diff=$(/usr/bin/python3 "$here/compare_show.py" "$cryo" "$f" $mode 2>&1); then
      echo "PASS images/cryo-show/$name${mode:+ (pretty)}"
    else
      echo "FAIL images/cryo-show/$name${mode:+ (pretty)}: $(echo "$diff" | head -5 | tr '\n' ';')"
    fi
  done
done

ps=$(/usr/bin/crit x "$d" ps 2>&1)
if echo "$ps" | grep -q "1000 .*sample-parent" && echo "$ps" | grep -q "1002 .*sample-child"; then
  echo "PASS images/crit-x-ps"
else
  echo "FAIL images/crit-x-ps: $ps"
fi
fds=$(/usr/bin/crit x "$d" fds 2>&1)
if echo "$fds" | grep -q "1: /tmp/sample log.txt" && echo "$fds" | grep -q "cwd: /tmp"; then
  echo "PASS images/crit-x-fds"
else
  echo "FAIL images/crit-x-fds: $fds"
fi

# The whole directory at once, and a corrupt file: one clear error.
if "$cryo" show "$d" >/dev/null; then echo "PASS images/cryo-show-dir"; else echo "FAIL images/cryo-show-dir"; fi
head -c 30 "$d/core-1000.img" >"$d/core-9.img"
err=$("$cryo" show "$d/core-9.img" 2>&1 >/dev/null); rc=$?
if [ $rc -ne 0 ] && [ "$(echo "$err" | wc -l)" -eq 1 ] && echo "$err" | grep -q "core-9.img: truncated entry at offset 8"; then
  echo "PASS images/cryo-show-corrupt"
else
  echo "FAIL images/cryo-show-corrupt: rc=$rc $err"
fi
