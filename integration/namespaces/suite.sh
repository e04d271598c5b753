#!/usr/bin/env bash
# Restoring a tree with a network namespace of its own (ns_net_lo) into a
# namespace the caller hands over (--join-ns net:PATH, a netns made with
# `ip netns add`), and into an empty one the caller fills (--empty-ns net:
# lo left down until the caller brings it up), as pod sandboxes and runc
# do. The program then checks its own state.
. "$(dirname "$0")/../lib/common.sh"
prog=$build/integration/programs/ns_net_lo
if ! command -v ip >/dev/null; then echo "SKIP namespaces: iproute2's ip is missing (hack/setup.sh installs it)"; exit 0; fi
w=$(mktemp -d /tmp/cryo-ns.XXXXXX)
netns=cryo-join-$$
# Cases run in subshells: the pids they start are kept in a file.
track() { echo "$1" >>"$w/pids"; }
cleanup() { while read -r p; do kill -9 "$p" 2>/dev/null; done <"$w/pids" 2>/dev/null; ip netns del "$netns" 2>/dev/null; rm -rf "$w"; return 0; }
trap cleanup EXIT
wait_gone() { for _ in $(seq 500); do alive "$1" || return 0; sleep 0.01; done; return 1; }
wait_file() { for _ in $(seq 1500); do [ -e "$1" ] && return 0; sleep 0.01; done; return 1; }

# Starts ns_net_lo in $w/$1 and dumps it; sets pid.
dumped() {
  d=$w/$1; mkdir -p "$d/run" "$d/img"
  pid=$(cd "$d/run" && CRYO_PROG_DIR=$d/run "$spawn" -o "$d/out" "$prog")
  track "$pid"
  wait_file "$d/run/ready" || { echo "never ready"; return 1; }
  "$cryo" dump -t "$pid" -D "$d/img" -o dump.log -v4 >"$d/dump.out" 2>&1 || { echo "dump: $(cat "$d/dump.out")"; return 1; }
  wait_gone "$pid"
}
verdict() {
  touch "$d/run/go"
  wait_file "$d/run/result" || { echo "no verdict"; return 1; }
  local v; v=$(head -n1 "$d/run/result")
  [ "$v" = PASS ] || echo "$v"
}
run() {  # name fn
  local out; out=$("$2" 2>&1)
  if [ -z "$out" ]; then echo "PASS $1"; else echo "FAIL $1: $(echo "$out" | tail -n2 | tr '\n' ' ')"; fi
  [ -n "${pid:-}" ] && { kill -9 "$pid" 2>/dev/null; wait_gone "$pid"; }
}

join_netns() {
  ip netns add "$netns" && ip -n "$netns" link set lo up || { echo "ip netns add failed"; return; }
  dumped join || return
  "$cryo" restore -D "$d/img" -d -o restore.log -v4 --join-ns "net:/run/netns/$netns" >"$d/r.out" 2>&1 ||
    { echo "restore: $(cat "$d/r.out")"; return; }
  [ "$(stat -L -c %i /proc/"$pid"/ns/net)" = "$(stat -L -c %i /run/netns/"$netns")" ] ||
    echo "the tree is not in the netns it was handed"
  verdict
}
run join-netns join_netns

empty_netns() {
  dumped empty || return
  "$cryo" restore -D "$d/img" -d -o restore.log -v4 --empty-ns net >"$d/r.out" 2>&1 ||
    { echo "restore: $(cat "$d/r.out")"; return; }
  [ "$(stat -L -c %i /proc/"$pid"/ns/net)" != "$(stat -L -c %i /proc/self/ns/net)" ] || echo "not in a netns of its own"
  # Down: flags <LOOPBACK> only, no UP.
  nsenter --net=/proc/"$pid"/ns/net ip link show lo | grep -q "<LOOPBACK>" ||
    echo "lo was set up: $(nsenter --net=/proc/"$pid"/ns/net ip link show lo)"
  nsenter --net=/proc/"$pid"/ns/net ip link set lo up
  verdict
}
run empty-netns empty_netns
# --external net[INODE]:KEY on dump, --inherit-fd fd[N]:KEY on restore:
# the tree goes back into a network namespace the caller holds open (how
# runc and Podman restore into a pod's), nothing of it dumped or made.
external_netns() {
  local ext=cryo-ext-$$
  ip netns add "$ext" && ip -n "$ext" link set lo up || { echo "ip netns add failed"; return; }
  d=$w/extnet; mkdir -p "$d/run" "$d/img"
  pid=$(cd "$d/run" && CRYO_PROG_DIR=$d/run nsenter --net=/run/netns/"$ext" "$spawn" -o "$d/out" "$build/integration/programs/tree_basic")
  track "$pid"
  wait_file "$d/run/ready" || { echo "never ready"; ip netns del "$ext"; return; }
  local ino; ino=$(stat -L -c %i /run/netns/"$ext")
  "$cryo" dump -t "$pid" -D "$d/img" -o dump.log -v4 --external "net[$ino]:pod-net" >"$d/dump.out" 2>&1 ||
    { echo "dump: $(cat "$d/dump.out")"; ip netns del "$ext"; return; }
  wait_gone "$pid"
  [ -e "$d/img/netdev-3.img" ] && echo "an external network namespace's devices were dumped"
  if "$cryo" restore -D "$d/img" -d -o restore-noinherit.log >"$d/r0.out" 2>&1; then
    echo "restored without the namespace it needs"
  else
    grep -q "inherit-fd fd\[N\]:pod-net" "$d/r0.out" || echo "unclear error: $(cat "$d/r0.out")"
  fi
  "$cryo" restore -D "$d/img" -d -o restore.log -v4 --inherit-fd "fd[7]:pod-net" 7</run/netns/"$ext" >"$d/r.out" 2>&1 ||
    { echo "restore: $(cat "$d/r.out")"; ip netns del "$ext"; return; }
  [ "$(stat -L -c %i /proc/"$pid"/ns/net)" = "$ino" ] || echo "the tree is not in the namespace it was handed"
  verdict
  ip netns del "$ext"
}
run external-netns external_netns

# PID 1 of its own pid namespace, with a tree, a thread, a zombie and a
# pidfd: every pid comes back as it was inside the namespace.
pid_tree() {
  d=$w/pidns; mkdir -p "$d/run" "$d/img"
  local outer
  outer=$(cd "$d/run" && CRYO_PROG_DIR=$d/run "$spawn" -o "$d/out" /usr/bin/unshare --pid --fork "$build/integration/namespaces/ns_pid_tree")
  track "$outer"
  wait_file "$d/run/ready" || { echo "never ready: $(cat "$d/run/result" "$d/out" 2>/dev/null)"; return; }
  pid=$(tr -d " " </proc/"$outer"/task/"$outer"/children)
  track "$pid"
  "$cryo" dump -t "$pid" -D "$d/img" -o dump.log -v4 >"$d/dump.out" 2>&1 || { echo "dump: $(cat "$d/dump.out")"; return; }
  wait_gone "$pid"
  for f in "$d/img"/*.img; do
    case $(basename "$f") in pages-* | ifaddr-* | route-* | route6-* | rule-* | iptables-* | ip6tables-* | nftables-*) continue ;; esac
    /usr/bin/crit decode -i "$f" >/dev/null 2>&1 || echo "crit cannot decode $(basename "$f")"
  done
  [ -e "$d/img/pidns-4.img" ] && [ -e "$d/img/core-1.img" ] || echo "images are not named by the namespace's pids: $(ls "$d/img" | tr '\n' ' ')"
  /usr/bin/crit x "$d/img" ps | awk 'NR > 1 {print $1}' | grep -qx 1 || echo "crit x ps has no pid 1"
  "$cryo" restore -D "$d/img" -d -o restore.log -v4 --pidfile "$d/rpid" >"$d/r.out" 2>&1 ||
    { echo "restore: $(cat "$d/r.out")"; return; }
  pid=$(cat "$d/rpid")
  track "$pid"
  [ "$(stat -L -c %i /proc/"$pid"/ns/pid)" != "$(stat -L -c %i /proc/self/ns/pid)" ] || echo "not in a pid namespace of its own"
  [ "$(awk '/^NSpid/ {print $NF}' /proc/"$pid"/status)" = 1 ] || echo "the root is not PID 1: $(grep NSpid /proc/"$pid"/status)"
  verdict
}
run pid-namespace-tree pid_tree

# --new-pidns: the dumped tree still holds its pids (left running, then
# stopped), so it comes back in a new pid namespace at the same pids; the
# namespace's init (cryo's) ends when the tree does.
new_pidns() {
  d=$w/newpidns; mkdir -p "$d/run" "$d/img"
  local orig
  orig=$(cd "$d/run" && CRYO_PROG_DIR=$d/run "$spawn" -o "$d/out" "$build/integration/programs/tree_basic")
  track "$orig"
  wait_file "$d/run/ready" || { echo "never ready"; return; }
  "$cryo" dump -t "$orig" -D "$d/img" -o dump.log --leave-running >"$d/dump.out" 2>&1 || { echo "dump: $(cat "$d/dump.out")"; return; }
  kill -STOP -- -"$orig"
  if "$cryo" restore -D "$d/img" -d 2>"$d/err"; then echo "a plain restore succeeded with the pids taken"; fi
  "$cryo" restore -D "$d/img" -d -o restore.log --pidfile "$d/rpid" --new-pidns >"$d/r.out" 2>&1 ||
    { echo "restore: $(cat "$d/r.out")"; return; }
  pid=$(cat "$d/rpid")
  track "$pid"
  [ "$(awk '/^NSpid/ {print $NF}' /proc/"$pid"/status)" = "$orig" ] || echo "inside its namespace it is not $orig: $(grep NSpid /proc/"$pid"/status)"
  verdict
  kill -9 -- -"$orig"
  wait_gone "$orig"
}
run new-pidns new_pidns

# A time namespace with clock offsets: restored with the same offsets.
time_ns() {
  d=$w/timens; mkdir -p "$d/run" "$d/img"
  local outer
  outer=$(cd "$d/run" && CRYO_PROG_DIR=$d/run "$spawn" -o "$d/out" /usr/bin/unshare --time --monotonic 1000 --boottime 5000 --fork "$build/integration/namespaces/ns_time")
  track "$outer"
  wait_file "$d/run/ready" || { echo "never ready: $(cat "$d/run/result" "$d/out" 2>/dev/null)"; return; }
  pid=$(tr -d " " </proc/"$outer"/task/"$outer"/children)
  track "$pid"
  local want; want=$(cat /proc/"$pid"/timens_offsets)
  "$cryo" dump -t "$pid" -D "$d/img" -o dump.log -v4 >"$d/dump.out" 2>&1 || { echo "dump: $(cat "$d/dump.out")"; return; }
  wait_gone "$pid"
  /usr/bin/crit decode -i "$d/img/timens-5.img" >/dev/null 2>&1 || echo "crit cannot decode timens-5.img"
  "$cryo" restore -D "$d/img" -d -o restore.log -v4 --pidfile "$d/rpid" >"$d/r.out" 2>&1 ||
    { echo "restore: $(cat "$d/r.out")"; return; }
  pid=$(cat "$d/rpid")
  track "$pid"
  [ "$(cat /proc/"$pid"/timens_offsets)" = "$want" ] || echo "offsets: want [$want] got [$(cat /proc/"$pid"/timens_offsets)]"
  [ "$(stat -L -c %i /proc/"$pid"/ns/time)" != "$(stat -L -c %i /proc/self/ns/time)" ] || echo "not in a time namespace of its own"
  verdict
}
run time-namespace time_ns

exit 0
