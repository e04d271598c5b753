#!/usr/bin/env bash
# Real clients of CRIU's interfaces driving cryo, installed as `criu` in a
# prefix of its own (hack/install.sh) and named the way each client looks
# for it. Each case proves cryo answered (its own log in the work dir),
# never Debian's /usr/sbin/criu, which fails on this kernel.
#   runc: run -d with stdio on pipes, checkpoint, restore -d: the counter
#   carries on from where it was, output reaches the new pipes, runc exec
#   and kill work; variants --leave-running, --file-locks +
#   --tcp-established, --manage-cgroups-mode full; a terminal container
#   (its console master handed back by orphan-pts-master).
#   containerd + ctr: ctr t checkpoint, ctr c checkpoint --task --rw,
#   ctr c restore --live.
#   Podman (runc, conmon): container checkpoint --export, container
#   restore --import under a new name.
#   LXC: lxc-checkpoint -s, then -r, of a busybox container.
# CASES="podman* lxc*" runs only the cases whose names match.
set -uo pipefail
build=${CRYO_BUILD:?}
top=${CRYO_TOP:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
if [ -z "${CRYO_UNDER_REAPER:-}" ]; then
  CRYO_UNDER_REAPER=1 exec "$build/integration/programs/reaper" bash "$0" "$@"
fi
here=$top/integration/clients
have_runc=1
command -v runc >/dev/null || have_runc=0
w=$(mktemp -d /tmp/cryo-clients.XXXXXX)
root=$w/runc-root
want() {  # NAME: the case is asked for (CASES unset, or a pattern of it matches)
  [ -z "${CASES:-}" ] && return 0
  local c
  for c in $CASES; do
    # shellcheck disable=SC2053
    [[ $1 == $c ]] && return 0
  done
  return 1
}
# Podman's state lives in $w/podman, named by these two files.
# (TMPDIR: where it unpacks and copies, /var/tmp otherwise.)
pm() { PATH="$w/prefix/bin:$PATH" CONTAINERS_CONF="$w/podman/containers.conf" \
  CONTAINERS_STORAGE_CONF="$w/podman/storage.conf" TMPDIR="$w/podman/tmp" podman "$@"; }
podman_cleanup() {
  [ -e "$w/podman/containers.conf" ] || return 0
  pm rm -a -f -t 0 >/dev/null 2>&1
  pm rmi -a -f >/dev/null 2>&1
  # A conmon still there (its pid file; only if it is ours).
  local p c
  for p in "$w"/podman/runroot/overlay-containers/*/userdata/conmon.pid; do
    [ -e "$p" ] || continue
    c=$(cat "$p")
    grep -qs "$w/podman" "/proc/$c/cmdline" && kill "$c" 2>/dev/null
  done
  findmnt -rn -o TARGET | grep "^$w/" | sort -r | while read -r m; do umount -n -l "$m"; done
  # The cgroupfs parents podman made, when there were none before.
  if [ -e "$w/podman/libpod_parent.ours" ]; then
    for p in /sys/fs/cgroup/*/libpod_parent; do find "$p" -depth -type d -exec rmdir {} \; 2>/dev/null; done
  fi
  return 0
}
lxc_cleanup() {
  [ -d "$w/lxc" ] || return 0
  local c
  for c in $(lxc-ls -P "$w/lxc" 2>/dev/null); do
    lxc-stop -k -n "$c" -P "$w/lxc" >/dev/null 2>&1
    lxc-destroy -f -n "$c" -P "$w/lxc" >/dev/null 2>&1
  done
  # LXC's locks for our lxcpath, and the cgroup it moves criu to.
  rm -rf "/run/lxc/lock$w"
  rmdir "/run/lxc/lock/tmp" 2>/dev/null
  [ -e "$w/run-lxc.ours" ] && rmdir /run/lxc/lock /run/lxc 2>/dev/null
  [ -e "$w/lxc.pivot.ours" ] && for c in /sys/fs/cgroup/*/lxc.pivot; do rmdir "$c" 2>/dev/null; done
  return 0
}
cleanup() {
  podman_cleanup
  lxc_cleanup
  [ "$have_runc" = 1 ] && for c in $(runc --root "$root" list -q 2>/dev/null); do runc --root "$root" delete -f "$c" >/dev/null 2>&1; done
  for p in "$w"/launch-*/pid; do [ -e "$p" ] && kill "$(cat "$p")" 2>/dev/null; done
  [ -e "$w/consoles" ] && while read -r p; do kill "$(cat "$p")" 2>/dev/null; done <"$w/consoles"
  rm -rf "$w"
  return 0
}
trap cleanup EXIT
CRYO_BUILD_DIR=$build "$top/hack/install.sh" "$w/prefix" >/dev/null || { echo "FAIL runc: hack/install.sh failed"; exit 0; }
criu=$w/prefix/bin/criu
if [ "$have_runc" = 1 ]; then
  "$here/mkbundle.sh" "$w/bundle" >"$w/mkbundle.log" 2>&1 || { echo "FAIL runc: no bundle: $(tail -n2 "$w/mkbundle.log")"; exit 0; }
else  # the root filesystem alone (runc spec makes the rest)
  "$top/integration/programs/lib/mkrootfs.sh" "$w/bundle/rootfs" >"$w/mkbundle.log" 2>&1 ||
    { echo "FAIL clients: no root filesystem: $(tail -n2 "$w/mkbundle.log")"; exit 0; }
fi

wait_for() { for _ in $(seq 300); do eval "$1" && return 0; sleep 0.05; done; return 1; }
# The container rewrites the file each tick: a read may find it empty.
counter_of() {  # FILE
  local c=""
  for _ in 1 2 3 4 5 6 7 8 9 10; do
    c=$(cat "$1" 2>/dev/null)
    [ -n "$c" ] && break
    sleep 0.01
  done
  echo "${c:-0}"
}
counter() { counter_of "$w/bundle/rootfs/tmp/counter"; }
# launch NAME CMD...: CMD with its stdio on pipes a launcher holds. The
# launcher's own stdio is not the caller's: a case's output is read to
# its end, and a launcher stays as long as its container does.
launch() {
  local n=$1; shift
  (cd "$w/bundle" && "$here/pipe_launch.py" "$w/launch-$n" -- "$@" </dev/null >>"$w/launcher.log" 2>&1)
  wait_for "[ -e $w/launch-$n/rc ]" || { echo "launcher $n: no exit status"; return 1; }
  [ "$(cat "$w/launch-$n/rc")" = 0 ] || { echo "$* exited $(cat "$w/launch-$n/rc"): $(tail -n3 "$w/launch-$n/out")"; return 1; }
}
state() { runc --root "$root" state "$1" 2>/dev/null | python3 -c 'import json,sys; print(json.load(sys.stdin)["status"])' 2>/dev/null; }
by_cryo() {  # LOG: the log is cryo's
  head -n1 "$1" 2>/dev/null | grep -Eq '^\([0-9.]+\) cryo [0-9]+ \(' || echo "$(basename "$1") is not cryo's: $(head -n1 "$1" 2>/dev/null)"
}
run() {  # name fn: PASS when fn prints nothing; a line SKIP-REASON WHY skips
  want "$1" || return 0
  local out; out=$("$2" 2>&1)
  local skip; skip=$(grep -m1 '^SKIP-REASON ' <<<"$out")
  if [ -n "$skip" ]; then echo "SKIP $1: ${skip#SKIP-REASON }"
  elif [ -z "$out" ]; then echo "PASS $1"; else echo "FAIL $1: $(echo "$out" | tail -n3 | tr '\n' ' ')"; fi
  [ "$have_runc" = 1 ] && for c in $(runc --root "$root" list -q 2>/dev/null); do runc --root "$root" delete -f "$c" >/dev/null 2>&1; done
  return 0
}

# checkpoint NAME ID [FLAGS]: a running container ID checkpointed into $w/NAME.
cycle() {  # name cp-flags restore-flags
  local n=$1 cpf=$2 rf=$3 id=ct-$1
  launch "$n-run" runc --root "$root" run -d "$id" || return
  wait_for '[ "$(counter)" -ge 3 ]' || { echo "the container does not count"; return; }
  if [[ $cpf == *--parent-path* ]]; then
    # The pre-dump the checkpoint's --parent-path names: memory only, the
    # container runs on with its writes tracked.
    runc --root "$root" --criu "$criu" checkpoint --pre-dump --image-path "$w/$n/pre" --work-path "$w/$n/prework" \
      "$id" >"$w/$n.pre.out" 2>&1 || { echo "pre-dump: $(tail -n3 "$w/$n.pre.out")"; return; }
    by_cryo "$w/$n/prework/dump.log"
    [ "$(state "$id")" = running ] || { echo "after the pre-dump the container is $(state "$id")"; return; }
    local p0; p0=$(counter)
    wait_for "[ \$(counter) -gt $p0 ]" || { echo "the container stopped counting after the pre-dump"; return; }
  fi
  local before; before=$(counter)
  # shellcheck disable=SC2086
  runc --root "$root" --criu "$criu" checkpoint --image-path "$w/$n/img" --work-path "$w/$n/work" $cpf "$id" \
    >"$w/$n.cp.out" 2>&1 || { echo "checkpoint: $(tail -n3 "$w/$n.cp.out")"; return; }
  by_cryo "$w/$n/work/dump.log"
  [ -e "$w/$n/img/inventory.img" ] || { echo "no images"; return; }
  if [[ $cpf == *--parent-path* ]]; then
    local inparent=0 f
    for f in "$w/$n/img"/pagemap-*.img; do
      /usr/bin/crit decode -i "$f" | grep -q '"flags": 1' && inparent=1
    done
    [ "$inparent" = 1 ] || echo "the checkpoint took no page from the pre-dump"
  fi
  if [[ $cpf == *--leave-running* ]]; then
    [ "$(state "$id")" = running ] || { echo "--leave-running: the container is $(state "$id")"; return; }
    local c0; c0=$(counter)
    wait_for "[ \$(counter) -gt $c0 ]" || echo "--leave-running: the container stopped counting"
    runc --root "$root" delete -f "$id" >/dev/null 2>&1
  else
    [ -z "$(state "$id")" ] || [ "$(state "$id")" = stopped ] || echo "after checkpoint the container is $(state "$id")"
    runc --root "$root" delete -f "$id" >/dev/null 2>&1
  fi
  local at; at=$(counter)  # the state dumped, or (left running) a little later
  # shellcheck disable=SC2086
  launch "$n-restore" runc --root "$root" --criu "$criu" restore -d --image-path "$w/$n/img" \
    --work-path "$w/$n/rwork" $rf "$id" || return
  by_cryo "$w/$n/rwork/restore.log"
  [ "$(state "$id")" = running ] || { echo "restored container is $(state "$id")"; return; }
  wait_for "[ \$(counter) -ge $((at + 3)) ]" || { echo "the counter stopped at $(counter) (was $at)"; return; }
  # It carried on: the first tick after restore follows the last before.
  local first; first=$(grep -m1 -o "tick [0-9]*" "$w/launch-$n-restore/out" | cut -d' ' -f2)
  [ -n "$first" ] && [ "$first" -le $((at + 2)) ] && [ "$first" -ge "$before" ] ||
    echo "the restored output starts at tick '$first', the counter was at $before before and $at after the checkpoint"
  [ "$(runc --root "$root" exec "$id" cat /tmp/counter)" -ge "$at" ] 2>/dev/null || echo "runc exec does not work"
  runc --root "$root" kill "$id" KILL || echo "runc kill failed"
  wait_for '[ "$(state '"$id"')" = stopped ]' || echo "the restored container did not stop on runc kill"
}

runc_pipes() { cycle pipes "" ""; }
runc_leave_running() { cycle leave "--leave-running" ""; }
runc_flags() { cycle flags "--file-locks --tcp-established" "--file-locks --tcp-established"; }
runc_cg_full() { cycle cgfull "--manage-cgroups-mode full" "--manage-cgroups-mode full"; }
runc_pre_dump() { cycle predump "--parent-path ../pre" ""; }
# Lazy migration: `runc checkpoint --lazy-pages --page-server` keeps the
# container frozen and serves its memory (status-ready: runc writes to its
# --status-fd); `criu lazy-pages --page-server` (cryo) on the restoring
# side pulls it in while `runc restore --lazy-pages` runs the container
# (under another id: the frozen one still exists until its pages are
# taken). The checkpoint ends once every page is across.
runc_lazy() {
  local n=lazy id=ct-lazy port
  port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
  launch "$n-run" runc --root "$root" run -d "$id" || return
  wait_for '[ "$(counter)" -ge 3 ]' || { echo "the container does not count"; return; }
  local before; before=$(counter)
  mkdir -p "$w/$n"
  runc --root "$root" --criu "$criu" checkpoint --lazy-pages --page-server "127.0.0.1:$port" --status-fd 9 \
    --image-path "$w/$n/img" --work-path "$w/$n/work" "$id" 9>"$w/$n/status" >"$w/$n.cp.out" 2>&1 &
  local cp=$!
  wait_for "[ -s $w/$n/status ]" || { echo "no status-ready: $(tail -n3 "$w/$n.cp.out")"; kill "$cp"; return; }
  by_cryo "$w/$n/work/dump.log"
  local at; at=$(counter)
  mkdir -p "$w/$n/rwork"
  "$criu" lazy-pages --page-server --address 127.0.0.1 --port "$port" -D "$w/$n/img" -W "$w/$n/rwork" \
    -o lazy.log -v4 >"$w/$n.lazy.out" 2>&1 &
  local lp=$!
  wait_for "[ -S $w/$n/rwork/lazy-pages.socket ]" || { echo "the lazy-pages daemon did not listen: $(cat "$w/$n.lazy.out")"; kill "$cp" "$lp"; return; }
  launch "$n-restore" runc --root "$root" --criu "$criu" restore -d --lazy-pages --image-path "$w/$n/img" \
    --work-path "$w/$n/rwork" "$id-r" || { kill "$cp" "$lp"; return; }
  by_cryo "$w/$n/rwork/restore.log"
  wait "$lp" || echo "the lazy-pages daemon failed: $(tail -n2 "$w/$n/rwork/lazy.log")"
  wait "$cp" || echo "runc checkpoint --lazy-pages failed: $(tail -n3 "$w/$n.cp.out")"
  grep -q "pages served" "$w/$n/work/dump.log" || echo "the checkpoint served no pages"
  [ -z "$(state "$id")" ] || [ "$(state "$id")" = stopped ] || echo "after the lazy checkpoint the container is $(state "$id")"
  [ "$(state "$id-r")" = running ] ||
    { echo "restored container is $(state "$id-r"): $(tail -n2 "$w/$n/rwork/lazy.log" "$w/launch-$n-restore/out")"; return; }
  wait_for "[ \$(counter) -ge $((at + 3)) ]" || { echo "the counter stopped at $(counter) (was $at)"; return; }
  local first; first=$(grep -m1 -o "tick [0-9]*" "$w/launch-$n-restore/out" | cut -d' ' -f2)
  [ -n "$first" ] && [ "$first" -le $((at + 2)) ] && [ "$first" -ge "$before" ] ||
    echo "the restored output starts at tick '$first', the counter was at $before before and $at after the checkpoint"
  runc --root "$root" kill "$id-r" KILL || echo "runc kill failed"
  wait_for '[ "$(state '"$id-r"')" = stopped ]' || echo "the restored container did not stop on runc kill"
}
# A terminal container: its stdio is a pty whose master runc sent to a
# console socket. The tree holds only the slave; restore makes a new pty
# and hands its master back (the orphan-pts-master notification, the fd
# by SCM_RIGHTS), which runc sends to the new console socket.
runc_terminal() {
  local id=ct-tty n=tty
  python3 - "$w/bundle/config.json" "$w/tty-config.json" "$w/bundle/rootfs" <<'PY'
import json, sys
c = json.load(open(sys.argv[1]))
c["process"]["terminal"] = True
c["root"]["path"] = sys.argv[3]
json.dump(c, open(sys.argv[2], "w"), indent=1)
PY
  mkdir -p "$w/tty"
  cp "$w/tty-config.json" "$w/tty/config.json"
  "$here/recvtty.py" "$w/tty/console1.sock" "$w/tty/console1.out" || { echo "recvtty failed"; return; }
  wait_for "[ -e $w/tty/console1.sock.pid ]" || { echo "recvtty never listened"; return; }
  echo "$w/tty/console1.sock.pid" >>"$w/consoles"
  (cd "$w/tty" && runc --root "$root" run -d --console-socket "$w/tty/console1.sock" "$id" </dev/null >"$w/tty/run.out" 2>&1) ||
    { echo "run: $(cat "$w/tty/run.out")"; return; }
  wait_for "grep -q 'tick 3' $w/tty/console1.out" || { echo "no output on the console: $(cat "$w/tty/console1.out")"; return; }
  runc --root "$root" --criu "$criu" checkpoint --image-path "$w/$n/img" --work-path "$w/$n/work" "$id" \
    >"$w/$n.cp.out" 2>&1 || { echo "checkpoint: $(tail -n3 "$w/$n.cp.out")"; return; }
  by_cryo "$w/$n/work/dump.log"
  runc --root "$root" delete -f "$id" >/dev/null 2>&1
  local at; at=$(counter)
  "$here/recvtty.py" "$w/tty/console2.sock" "$w/tty/console2.out" || { echo "recvtty failed"; return; }
  wait_for "[ -e $w/tty/console2.sock.pid ]" || { echo "recvtty never listened"; return; }
  echo "$w/tty/console2.sock.pid" >>"$w/consoles"
  (cd "$w/tty" && runc --root "$root" --criu "$criu" restore -d --console-socket "$w/tty/console2.sock" \
    --image-path "$w/$n/img" --work-path "$w/$n/rwork" "$id" </dev/null >"$w/tty/restore.out" 2>&1) ||
    { echo "restore: $(tail -n3 "$w/tty/restore.out") $(tail -n2 "$w/$n/rwork/restore.log")"; return; }
  by_cryo "$w/$n/rwork/restore.log"
  grep -q "orphan-pts-master" "$w/$n/rwork/restore.log" 2>/dev/null || true
  wait_for "grep -q 'tick $((at + 2))' $w/tty/console2.out" ||
    { echo "the restored container does not write to the new console: $(tail -c 200 "$w/tty/console2.out")"; return; }
  [ "$(runc --root "$root" exec "$id" cat /tmp/counter)" -ge "$at" ] 2>/dev/null || echo "runc exec does not work"
}
if [ "$have_runc" = 1 ]; then
  run runc-checkpoint-restore runc_pipes
  run runc-leave-running runc_leave_running
  run runc-file-locks-tcp-established runc_flags
  run runc-manage-cgroups-full runc_cg_full
  run runc-pre-dump runc_pre_dump
  run runc-lazy-pages runc_lazy
  run runc-terminal runc_terminal
else
  want runc && echo "SKIP runc: runc is not installed (hack/setup.sh installs it)"
fi
# containerd 1.6 started by the test (its own root, state and socket;
# the CRI plugin off), its runc shim finding cryo as `criu` first in the
# daemon's PATH; an OCI image made here from the busybox root.
# `ctr t checkpoint` (task left running) into a directory, then
# `ctr c checkpoint --task --rw` into an image and `ctr c restore --live`
# under a new name: the counter carries on from where the checkpoint was.
containerd_cycle() {
  if ! command -v containerd >/dev/null || ! command -v ctr >/dev/null || [ "$have_runc" = 0 ]; then
    echo "SKIP-REASON containerd or runc is not installed (hack/setup.sh installs them)"; return
  fi
  local d=$w/ctd
  mkdir -p "$d"
  "$here/mkimage.py" "$w/bundle/rootfs" "$d/busybox.tar" docker.io/local/busybox:latest || { echo "no image"; return; }
  cat >"$d/config.toml" <<TOML
version = 2
root = "$d/root"
state = "$d/state"
disabled_plugins = ["io.containerd.grpc.v1.cri"]
[grpc]
  address = "$d/containerd.sock"
[ttrpc]
  address = "$d/containerd.sock.ttrpc"
TOML
  # Detached by spawn (own session, no stray fds), its pid known.
  (cd / && PATH=$w/prefix/bin:$PATH "$build/integration/programs/spawn" -o "$d/containerd.log" "$(command -v containerd)" \
    --config "$d/config.toml" >"$d/containerd.pid")
  local ctr="ctr --address $d/containerd.sock"
  wait_for "$ctr version >/dev/null 2>&1" || { echo "containerd did not start: $(tail -n2 "$d/containerd.log")"; return; }
  $ctr image import "$d/busybox.tar" >/dev/null 2>&1 || { echo "image import failed"; return; }
  $ctr run -d --log-uri "file://$d/cd1.log" docker.io/local/busybox:latest cd1 /bin/sh -c \
    'i=0; while true; do i=$((i+1)); echo tick $i; echo $i > /tmp/counter; sleep 0.2; done' >"$d/run.out" 2>&1 ||
    { echo "ctr run: $(cat "$d/run.out")"; return; }
  local pid; pid=$($ctr t ls | awk '$1 == "cd1" {print $2}')
  local cnt="counter_of /proc/\$pid/root/tmp/counter"
  wait_for "[ \$($cnt) -ge 3 ] 2>/dev/null" || { echo "the task does not count"; return; }
  $ctr t checkpoint --image-path "$d/img" --work-path "$d/work" cd1 >"$d/tcp.out" 2>&1 ||
    { echo "ctr t checkpoint: $(tail -n3 "$d/tcp.out")"; return; }
  by_cryo "$d/work/dump.log"
  [ -e "$d/img/inventory.img" ] || echo "ctr t checkpoint wrote no images"
  [ "$($ctr t ls | awk '$1 == "cd1" {print $3}')" = RUNNING ] || echo "after ctr t checkpoint the task is not running"
  $ctr c checkpoint --task --rw --image cd1 docker.io/local/cd1-ckpt:v1 >"$d/ccp.out" 2>&1 ||
    { echo "ctr c checkpoint: $(tail -n3 "$d/ccp.out")"; return; }
  local at; at=$(eval "$cnt")
  $ctr t kill -s KILL cd1 >/dev/null 2>&1
  wait_for "[ \"\$($ctr t ls | awk '\$1 == \"cd1\" {print \$3}')\" = STOPPED ]" || echo "the task did not stop"
  $ctr t rm cd1 >/dev/null 2>&1
  $ctr c rm cd1 >/dev/null 2>&1
  local before; before=$(ls -d /tmp/ctrd-checkpoint* 2>/dev/null)
  $ctr c restore --live --rw cd1r docker.io/local/cd1-ckpt:v1 >"$d/restore.out" 2>&1 ||
    { echo "ctr c restore: $(tail -n3 "$d/restore.out")"; return; }
  # containerd 1.6 leaves the unpacked checkpoint behind: ours go.
  for x in $(ls -d /tmp/ctrd-checkpoint* 2>/dev/null); do [[ " $before " == *" $x "* ]] || rm -rf "$x"; done
  pid=$($ctr t ls | awk '$1 == "cd1r" {print $2}')
  [ -n "$pid" ] || { echo "no restored task"; return; }
  by_cryo "$d/state/io.containerd.runtime.v2.task/default/cd1r/work/restore.log"
  local first; first=$(eval "$cnt")
  [ "$first" -ge 3 ] && [ "$first" -le $((at + 60)) ] || echo "the restored counter is at $first (was $at at the checkpoint)"
  wait_for "[ \$($cnt) -ge $((first + 3)) ]" || echo "the restored task does not count"
  [ "$($ctr t exec --exec-id probe cd1r cat /tmp/counter)" -ge "$first" ] 2>/dev/null || echo "ctr t exec does not work"
  $ctr t kill -s KILL cd1r >/dev/null 2>&1
  wait_for "[ \"\$($ctr t ls | awk '\$1 == \"cd1r\" {print \$3}')\" = STOPPED ]"
  $ctr t rm cd1r >/dev/null 2>&1
  $ctr c rm cd1r >/dev/null 2>&1
}
containerd_case() {
  want containerd-checkpoint-restore || return 0
  local out; out=$(containerd_cycle 2>&1)
  if [[ $out == SKIP-REASON* ]]; then echo "SKIP containerd: ${out#SKIP-REASON }"
  elif [ -z "$out" ]; then echo "PASS containerd-checkpoint-restore"
  else echo "FAIL containerd-checkpoint-restore: $(echo "$out" | tail -n3 | tr '\n' ' ')"; fi
  [ -e "$w/ctd/containerd.pid" ] && kill "$(cat "$w/ctd/containerd.pid")" 2>/dev/null
  for _ in $(seq 100); do [ -e /proc/"$(cat "$w/ctd/containerd.pid" 2>/dev/null)" ] || break; sleep 0.05; done
  return 0
}
containerd_case

# Podman 4.3 (runc, conmon) with all of its state under the test's
# directory: containers.conf and storage.conf (named by CONTAINERS_CONF
# and CONTAINERS_STORAGE_CONF) put storage, runroot, tmpdir, events and
# file locks there, and runc runs behind a wrapper that gives it a root of
# the test's own. No network but none. Podman finds cryo as `criu` in
# PATH: its own go-criu VERSION probe, then runc's `criu swrk` (conmon and
# runc inherit the PATH). The image is the busybox root as an OCI archive
# (`podman load`).
podman_setup() {
  local d=$w/podman
  [ -e "$d/loaded" ] && return 0
  mkdir -p "$d/bin" "$d/cni" "$d/net.d" "$d/tmp"
  ls -d /sys/fs/cgroup/freezer/libpod_parent >/dev/null 2>&1 || touch "$d/libpod_parent.ours"
  printf '#!/bin/sh\nexec %s --root %s "$@"\n' "$(command -v runc)" "$d/runc-root" >"$d/bin/runc"
  chmod 755 "$d/bin/runc"
  cat >"$d/containers.conf" <<CONF
[containers]
netns = "none"
[network]
network_backend = "cni"
cni_plugin_dirs = ["$d/cni"]
network_config_dir = "$d/net.d"
[engine]
cgroup_manager = "cgroupfs"
events_logger = "file"
events_logfile_path = "$d/events.log"
runtime = "runc"
tmp_dir = "$d/tmp"
image_copy_tmp_dir = "$d/tmp"
lock_type = "file"
volume_path = "$d/volumes"
static_dir = "$d/libpod"
[engine.runtimes]
runc = ["$d/bin/runc"]
CONF
  cat >"$d/storage.conf" <<CONF
[storage]
driver = "overlay"
graphroot = "$d/root"
runroot = "$d/runroot"
CONF
  # A root of its own: the bundle's holds the runc cases' /tmp/counter,
  # which would hide the container's from podman's rootfs diff.
  "$top/integration/programs/lib/mkrootfs.sh" "$d/rootfs" >"$d/mkrootfs.log" 2>&1 &&
    "$here/mkimage.py" "$d/rootfs" "$d/busybox.tar" localhost/busybox:latest || { echo "no image"; return 1; }
  # Podman 4.3 keeps containers/image's blob-info cache in
  # /var/lib/containers/cache whatever its root, and unpacks the archive
  # in /var/tmp whatever TMPDIR: the load runs in a mount namespace of its
  # own where tmpfs mounts hide both.
  local hide=/var/lib/containers
  [ -d "$hide" ] || hide=/var/lib
  unshare -m --propagation private sh -c \
    'mount -n -t tmpfs cryo-hide "$1" && mount -n -t tmpfs cryo-hide /var/tmp && shift && exec "$@"' sh "$hide" \
    env "CONTAINERS_CONF=$d/containers.conf" "CONTAINERS_STORAGE_CONF=$d/storage.conf" "TMPDIR=$d/tmp" \
    podman load -i "$d/busybox.tar" >"$d/load.out" 2>&1 || { echo "podman load: $(tail -n2 "$d/load.out")"; return 1; }
  touch "$d/loaded"
}
# checkpoint --export of a running container NAME, restore --import as
# NAME-r; the counter carries on from where it was. SECCOMP: the
# --security-opt seccomp value (empty: podman's default profile).
podman_cycle() {  # name seccomp [pre]: with pre, a --pre-checkpoint first, the checkpoint --with-previous
  if ! command -v podman >/dev/null || ! command -v conmon >/dev/null || [ "$have_runc" = 0 ]; then
    echo "SKIP-REASON podman, conmon or runc is not installed (hack/setup.sh installs them)"; return
  fi
  podman_setup || return
  local n=$1 d=$w/podman sec=()
  [ -n "$2" ] && sec=(--security-opt "seccomp=$2")
  # Without CAP_SYS_RESOURCE here, podman's default rlimits cannot be set.
  launch "$n-run" env "PATH=$w/prefix/bin:$PATH" "CONTAINERS_CONF=$d/containers.conf" \
    "CONTAINERS_STORAGE_CONF=$d/storage.conf" "TMPDIR=$d/tmp" podman run -d --name "$n" --network none \
    --ulimit nofile=1024:1024 --ulimit nproc=4096:4096 "${sec[@]}" localhost/busybox:latest \
    sh -c 'i=0; while true; do i=$((i+1)); echo $i > /tmp/counter; echo tick $i; sleep 0.2; done' || return
  local pid; pid=$(pm inspect -f '{{.State.Pid}}' "$n")
  local cnt="counter_of /proc/\$pid/root/tmp/counter"
  wait_for "[ \$($cnt) -ge 3 ] 2>/dev/null" || { echo "the container does not count"; return; }
  local prev=() imprev=()
  if [ "${3:-}" = pre ]; then
    # Memory only, exported on its own; the container counts on.
    pm container checkpoint --pre-checkpoint --keep --compress gzip --export "$d/$n.pre.tar.gz" "$n" \
      >"$d/$n.pre.out" 2>&1 || { echo "pre-checkpoint: $(tail -n3 "$d/$n.pre.out")"; return; }
    [ "$(pm inspect -f '{{.State.Status}}' "$n")" = running ] ||
      { echo "after the pre-checkpoint $n is $(pm inspect -f '{{.State.Status}}' "$n")"; return; }
    local c0; c0=$(eval "$cnt")
    wait_for "[ \$($cnt) -gt $c0 ] 2>/dev/null" || { echo "the container stopped counting after the pre-checkpoint"; return; }
    prev=(--with-previous)
    imprev=(--import-previous "$d/$n.pre.tar.gz")
  fi
  local before; before=$(eval "$cnt")
  pm container checkpoint --keep --compress gzip "${prev[@]}" --export "$d/$n.tar.gz" "$n" >"$d/$n.cp.out" 2>&1 ||
    { echo "checkpoint: $(tail -n3 "$d/$n.cp.out")"; return; }
  if [ "${3:-}" = pre ]; then
    local inparent=0 f
    mkdir -p "$d/$n.x" && tar -xzf "$d/$n.tar.gz" -C "$d/$n.x" checkpoint 2>/dev/null
    for f in "$d/$n.x"/checkpoint/pagemap-*.img; do
      /usr/bin/crit decode -i "$f" 2>/dev/null | grep -q '"flags": 1' && inparent=1
    done
    [ "$inparent" = 1 ] || echo "the checkpoint took no page from the pre-checkpoint"
  fi
  by_cryo "$(pm inspect -f '{{.StaticDir}}' "$n")/dump.log"
  [ "$(pm inspect -f '{{.State.Status}}' "$n")" = exited ] || echo "after checkpoint $n is $(pm inspect -f '{{.State.Status}}' "$n")"
  tar -tzf "$d/$n.tar.gz" >"$d/$n.list" 2>&1
  grep -qx 'checkpoint/inventory.img' "$d/$n.list" || { echo "the archive holds no images"; return; }
  # The counter as dumped: the container's rootfs changes are in the archive.
  local at; at=$(tar -xzOf "$d/$n.tar.gz" rootfs-diff.tar 2>/dev/null | tar -xOf - tmp/counter 2>/dev/null)
  [ -n "$at" ] || { echo "the archive's rootfs-diff.tar has no /tmp/counter"; at=$before; }
  pm rm "$n" >/dev/null 2>&1 || echo "podman rm $n failed"
  launch "$n-restore" env "PATH=$w/prefix/bin:$PATH" "CONTAINERS_CONF=$d/containers.conf" \
    "CONTAINERS_STORAGE_CONF=$d/storage.conf" "TMPDIR=$d/tmp" podman container restore --keep --import "$d/$n.tar.gz" \
    "${imprev[@]}" --name "$n-r" || {
    echo "restore failed: $(tail -n2 "$(pm inspect -f '{{.StaticDir}}' "$n-r" 2>/dev/null)/restore.log" 2>/dev/null)"
    return
  }
  by_cryo "$(pm inspect -f '{{.StaticDir}}' "$n-r")/restore.log"
  [ "$(pm inspect -f '{{.State.Status}}' "$n-r")" = running ] || { echo "restored container is $(pm inspect -f '{{.State.Status}}' "$n-r")"; return; }
  pid=$(pm inspect -f '{{.State.Pid}}' "$n-r")
  local first; first=$(eval "$cnt")
  [ "$first" -ge "$before" ] && [ "$first" -le $((at + 10)) ] 2>/dev/null ||
    echo "the restored counter is at '$first' (was $before before the checkpoint, $at dumped)"
  wait_for "[ \$($cnt) -ge $((first + 3)) ] 2>/dev/null" || { echo "the restored container does not count"; return; }
  [ "$(pm exec "$n-r" cat /tmp/counter)" -ge "$first" ] 2>/dev/null || echo "podman exec does not work"
  pm rm -f -t 0 "$n-r" >/dev/null 2>&1 || echo "podman rm -f $n-r failed"
}
podman_plain() { podman_cycle pm1 unconfined; }
run podman-checkpoint-restore podman_plain
podman_pre() { podman_cycle pmpre unconfined pre; }
run podman-pre-checkpoint podman_pre
# The same with podman's default seccomp profile, installed by runc while
# the task still had CAP_SYS_ADMIN, and without no_new_privs: cryo puts
# the filters back before the credentials.
podman_seccomp() { podman_cycle pm2 ""; }
run podman-seccomp-profile podman_seccomp

# LXC 5.0: a busybox container made by lxc-create -t busybox, with an
# lxcpath of the test's own (-P), no network (type empty), no ttys or
# console (their masters stay with LXC's monitor, outside the tree), no
# AppArmor (the kernel has none) and a counter loop as init; checkpointed
# and restored twice (the second time from the tree cryo restored). LXC runs
# `criu` from PATH: `criu --version`, then the dump and restore command
# lines (stdin closed for the restore), their logs in the -D directory.
lxc_cycle() {
  local t
  for t in lxc-create lxc-start lxc-checkpoint lxc-info lxc-stop lxc-destroy lxc-attach; do
    command -v "$t" >/dev/null || { echo "SKIP-REASON lxc is not installed (hack/setup.sh installs it)"; return; }
  done
  [ -x /usr/share/lxc/templates/lxc-busybox ] ||
    { echo "SKIP-REASON lxc-templates is not installed (hack/setup.sh installs it)"; return; }
  local P=$w/lxc c=ct1 img=$w/lxc-img
  mkdir -p "$P"
  [ -e /sys/fs/cgroup/freezer/lxc.pivot ] || touch "$w/lxc.pivot.ours"
  [ -e /run/lxc ] || touch "$w/run-lxc.ours"
  printf 'lxc.net.0.type = empty\nlxc.apparmor.profile = unconfined\n' >"$w/lxc-base.conf"
  lxc-create -t busybox -n "$c" -P "$P" -f "$w/lxc-base.conf" >"$w/lxc-create.out" 2>&1 ||
    { echo "lxc-create: $(tail -n2 "$w/lxc-create.out")"; return; }
  local rootfs=$P/$c/rootfs
  printf '#!/bin/sh\ni=0\nwhile true; do i=$((i+1)); echo $i > /tmp/counter; sleep 0.2; done\n' >"$rootfs/loop.sh"
  chmod 755 "$rootfs/loop.sh"
  printf 'lxc.tty.max = 0\nlxc.console.path = none\nlxc.init.cmd = /loop.sh\n' >>"$P/$c/config"
  local lx=(env "PATH=$w/prefix/bin:$PATH")
  local st="lxc-info -n $c -P $P -s -H 2>/dev/null"
  local cnt="counter_of $rootfs/tmp/counter"
  launch lxc-start "${lx[@]}" lxc-start -n "$c" -P "$P" -o "$w/lxc-start.log" || return
  wait_for "[ \"\$($st)\" = RUNNING ] && [ \$($cnt) -ge 3 ] 2>/dev/null" || { echo "the container does not count: $($st)"; return; }
  local before; before=$(eval "$cnt")
  "${lx[@]}" lxc-checkpoint -n "$c" -P "$P" -s -v -D "$img" </dev/null >"$w/lxc-cp.out" 2>&1 ||
    { echo "lxc-checkpoint -s: $(tail -n3 "$w/lxc-cp.out")"; return; }
  by_cryo "$img/dump.log"
  [ -e "$img/inventory.img" ] || { echo "no images"; return; }
  [ "$(eval "$st")" = STOPPED ] || echo "after lxc-checkpoint -s the container is $(eval "$st")"
  local at; at=$(eval "$cnt")
  launch lxc-restore "${lx[@]}" lxc-checkpoint -r -n "$c" -P "$P" -v -D "$img" ||
    { tail -n2 "$img/restore.log" 2>/dev/null; return; }
  by_cryo "$img/restore.log"
  [ "$(eval "$st")" = RUNNING ] || { echo "the restored container is $(eval "$st")"; return; }
  local first; first=$(eval "$cnt")
  [ "$first" -ge "$at" ] && [ "$first" -le $((at + 10)) ] 2>/dev/null ||
    echo "the restored counter is at '$first' (was $before before the checkpoint, $at after)"
  wait_for "[ \$($cnt) -ge $((first + 3)) ] 2>/dev/null" || { echo "the restored container does not count"; return; }
  [ "$(lxc-attach -n "$c" -P "$P" -- /bin/cat /tmp/counter 2>/dev/null)" -ge "$first" ] 2>/dev/null ||
    echo "lxc-attach does not work on the restored container"
  # Once more, from the restored container (its mount tree as cryo made it).
  "${lx[@]}" lxc-checkpoint -n "$c" -P "$P" -s -v -D "$img-2" </dev/null >"$w/lxc-cp2.out" 2>&1 ||
    { echo "second lxc-checkpoint -s: $(tail -n3 "$w/lxc-cp2.out")"; return; }
  by_cryo "$img-2/dump.log"
  at=$(eval "$cnt")
  launch lxc-restore2 "${lx[@]}" lxc-checkpoint -r -n "$c" -P "$P" -v -D "$img-2" ||
    { tail -n2 "$img-2/restore.log" 2>/dev/null; return; }
  by_cryo "$img-2/restore.log"
  first=$(eval "$cnt")
  [ "$first" -ge "$at" ] && [ "$first" -le $((at + 10)) ] 2>/dev/null ||
    echo "after the second restore the counter is at '$first' (was $at)"
  wait_for "[ \$($cnt) -ge $((first + 3)) ] 2>/dev/null" || { echo "the container restored twice does not count"; return; }
  lxc-stop -k -n "$c" -P "$P" >/dev/null 2>&1
  wait_for "[ \"\$($st)\" = STOPPED ]" || echo "the restored container did not stop on lxc-stop -k"
  lxc-destroy -n "$c" -P "$P" >/dev/null 2>&1 || echo "lxc-destroy failed"
}
run lxc-checkpoint-restore lxc_cycle
exit 0
