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
set -uo pipefail
build=${CRYO_BUILD:?}
top=${CRYO_TOP:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
if [ -z "${CRYO_UNDER_REAPER:-}" ]; then
  CRYO_UNDER_REAPER=1 exec "$build/integration/programs/reaper" bash "$0" "$@"
fi
here=$top/integration/clients
if ! command -v runc >/dev/null; then echo "SKIP runc: runc is not installed (hack/setup.sh installs it)"; exit 0; fi
w=$(mktemp -d /tmp/cryo-clients.XXXXXX)
root=$w/runc-root
cleanup() {
  for c in $(runc --root "$root" list -q 2>/dev/null); do runc --root "$root" delete -f "$c" >/dev/null 2>&1; done
  for p in "$w"/launch-*/pid; do [ -e "$p" ] && kill "$(cat "$p")" 2>/dev/null; done
  [ -e "$w/consoles" ] && while read -r p; do kill "$(cat "$p")" 2>/dev/null; done <"$w/consoles"
  rm -rf "$w"
  return 0
}
trap cleanup EXIT
CRYO_BUILD_DIR=$build "$top/hack/install.sh" "$w/prefix" >/dev/null || { echo "FAIL runc: hack/install.sh failed"; exit 0; }
criu=$w/prefix/bin/criu
"$here/mkbundle.sh" "$w/bundle" >"$w/mkbundle.log" 2>&1 || { echo "FAIL runc: no bundle: $(tail -n2 "$w/mkbundle.log")"; exit 0; }

wait_for() { for _ in $(seq 300); do eval "$1" && return 0; sleep 0.05; done; return 1; }
# The container rewrites the file each tick: a read may find it empty.
counter() {
  local c=""
  for _ in 1 2 3 4 5 6 7 8 9 10; do
    c=$(cat "$w/bundle/rootfs/tmp/counter" 2>/dev/null)
    [ -n "$c" ] && break
    sleep 0.01
  done
  echo "${c:-0}"
}
# launch NAME CMD...: CMD with its stdio on pipes a launcher holds.
launch() {
  local n=$1; shift
  (cd "$w/bundle" && "$here/pipe_launch.py" "$w/launch-$n" -- "$@")
  wait_for "[ -e $w/launch-$n/rc ]" || { echo "launcher $n: no exit status"; return 1; }
  [ "$(cat "$w/launch-$n/rc")" = 0 ] || { echo "$* exited $(cat "$w/launch-$n/rc"): $(tail -n3 "$w/launch-$n/out")"; return 1; }
}
state() { runc --root "$root" state "$1" 2>/dev/null | python3 -c 'import json,sys; print(json.load(sys.stdin)["status"])' 2>/dev/null; }
by_cryo() {  # LOG: the log is cryo's
  head -n1 "$1" 2>/dev/null | grep -Eq '^\([0-9.]+\) cryo [0-9]+ \(' || echo "$(basename "$1") is not cryo's: $(head -n1 "$1" 2>/dev/null)"
}
run() {  # name fn
  local out; out=$("$2" 2>&1)
  if [ -z "$out" ]; then echo "PASS $1"; else echo "FAIL $1: $(echo "$out" | tail -n3 | tr '\n' ' ')"; fi
  for c in $(runc --root "$root" list -q 2>/dev/null); do runc --root "$root" delete -f "$c" >/dev/null 2>&1; done
}

# checkpoint NAME ID [FLAGS]: a running container ID checkpointed into $w/NAME.
cycle() {  # name cp-flags restore-flags
  local n=$1 cpf=$2 rf=$3 id=ct-$1
  launch "$n-run" runc --root "$root" run -d "$id" || return
  wait_for '[ "$(counter)" -ge 3 ]' || { echo "the container does not count"; return; }
  local before; before=$(counter)
  # shellcheck disable=SC2086
  runc --root "$root" --criu "$criu" checkpoint --image-path "$w/$n/img" --work-path "$w/$n/work" $cpf "$id" \
    >"$w/$n.cp.out" 2>&1 || { echo "checkpoint: $(tail -n3 "$w/$n.cp.out")"; return; }
  by_cryo "$w/$n/work/dump.log"
  [ -e "$w/$n/img/inventory.img" ] || { echo "no images"; return; }
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

run runc-checkpoint-restore runc_pipes
runc_leave_running() { cycle leave "--leave-running" ""; }
run runc-leave-running runc_leave_running
runc_flags() { cycle flags "--file-locks --tcp-established" "--file-locks --tcp-established"; }
run runc-file-locks-tcp-established runc_flags
runc_cg_full() { cycle cgfull "--manage-cgroups-mode full" "--manage-cgroups-mode full"; }
run runc-manage-cgroups-full runc_cg_full
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
run runc-terminal runc_terminal
# containerd 1.6 started by the test (its own root, state and socket;
# the CRI plugin off), its runc shim finding cryo as `criu` first in the
# daemon's PATH; an OCI image made here from the busybox root.
# `ctr t checkpoint` (task left running) into a directory, then
# `ctr c checkpoint --task --rw` into an image and `ctr c restore --live`
# under a new name: the counter carries on from where the checkpoint was.
containerd_cycle() {
  if ! command -v containerd >/dev/null || ! command -v ctr >/dev/null; then
    echo "SKIP-REASON containerd is not installed (hack/setup.sh installs it)"; return
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
  local cnt="cat /proc/\$pid/root/tmp/counter 2>/dev/null || echo 0"
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
  local out; out=$(containerd_cycle 2>&1)
  if [[ $out == SKIP-REASON* ]]; then echo "SKIP containerd: ${out#SKIP-REASON }"
  elif [ -z "$out" ]; then echo "PASS containerd-checkpoint-restore"
  else echo "FAIL containerd-checkpoint-restore: $(echo "$out" | tail -n3 | tr '\n' ' ')"; fi
  [ -e "$w/ctd/containerd.pid" ] && kill "$(cat "$w/ctd/containerd.pid")" 2>/dev/null
  for _ in $(seq 100); do [ -e /proc/"$(cat "$w/ctd/containerd.pid" 2>/dev/null)" ] || break; sleep 0.05; done
  return 0
}
containerd_case
exit 0
