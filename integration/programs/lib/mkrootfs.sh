#!/usr/bin/env bash
# mkrootfs.sh DIR: a container root filesystem for the ns flavor, made
# from this machine's files (nothing downloaded): busybox-static as /bin,
# mount points for what ct_start mounts (the host's libraries, the
# programs, their run directory), /etc with root and a few groups.
set -euo pipefail
d=$1
bb=/bin/busybox
[ -x "$bb" ] || { echo "mkrootfs: busybox-static is not installed (hack/setup.sh installs it)" >&2; exit 1; }
mkdir -p "$d"/{bin,sbin,proc,sys,dev,tmp,run/prog,etc,prog,root,usr/lib/x86_64-linux-gnu,lib64}
cp "$bb" "$d/bin/busybox"
for a in sh ls cat sleep echo mount ps; do ln -sf busybox "$d/bin/$a"; done
ln -sfn usr/lib "$d/lib"
ln -sf /lib/x86_64-linux-gnu/ld-linux-x86-64.so.2 "$d/lib64/ld-linux-x86-64.so.2"
printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534::/:/bin/false\n' >"$d/etc/passwd"
printf 'root:x:0:\ntty:x:5:\nnogroup:x:65534:\n' >"$d/etc/group"
chmod 1777 "$d/tmp"
