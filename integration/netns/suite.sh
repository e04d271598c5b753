#!/usr/bin/env bash
# A tree in a network namespace of its own with a veth whose outer end is
# on a bridge of cryo's namespace, several addresses, routes in two tables,
# rules, iptables and nftables rules: dumped, killed, restored with
# --external veth[eth0]:OUT@BRIDGE, and listed the same by ip, nft and
# iptables-save; restored into a namespace holding a pre-created veth
# (--join-ns net:PATH, and --external net[INO]:KEY + --inherit-fd); and
# the network lock really drops packets while the tree is frozen (a
# prober on the bridge gets neither a reply nor a reset at post-dump).
# Test addresses only: 10.201.x.x and fd00:201::/64.
. "$(dirname "$0")/../lib/common.sh"
prog=$build/integration/programs/sleeper
for t in ip nft iptables-restore; do
  command -v $t >/dev/null || { echo "SKIP netns: $t is missing (hack/setup.sh installs it)"; exit 0; }
done
w=$(mktemp -d /tmp/cryo-netns.XXXXXX)
tag=$$
br=cnb$tag            # the bridge in cryo's namespace
probe=cryo-np-$tag    # a namespace on the bridge that probes the tree
track() { echo "$1" >>"$w/pids"; }
cleanup() {
  while read -r p; do kill -9 "$p" 2>/dev/null; done <"$w/pids" 2>/dev/null
  # Cases run in subshells: the namespaces they make are kept in a file.
  while read -r n; do ip netns del "$n" 2>/dev/null; done <"$w/nss" 2>/dev/null
  ip netns del "$probe" 2>/dev/null
  for l in "$br" cnp$tag cnh$tag cnr$tag cnj$tag cnx$tag cnm$tag cnf$tag; do ip link del "$l" 2>/dev/null; done
  rm -rf "$w"; return 0
}
trap cleanup EXIT
wait_gone() { for _ in $(seq 500); do alive "$1" || return 0; sleep 0.01; done; return 1; }
wait_file() { for _ in $(seq 1500); do [ -e "$1" ] && return 0; sleep 0.01; done; return 1; }
wait_no_link() { for _ in $(seq 500); do ip link show "$1" >/dev/null 2>&1 || return 0; sleep 0.01; done; return 1; }
run() {  # name fn [args]
  local name=$1 out; shift
  out=$("$@" 2>&1)
  if [ -z "$out" ]; then echo "PASS $name"; else echo "FAIL $name: $(echo "$out" | tail -n3 | tr '\n' ' ')"; fi
  [ -n "${pid:-}" ] && { kill -9 "$pid" 2>/dev/null; wait_gone "$pid"; }
  pid=
}

# The bridge, and the prober on it (10.201.0.9).
ip link add "$br" type bridge && ip link set "$br" up || { echo "FAIL netns-setup: no bridge"; exit 0; }
ip netns add "$probe"
ip link add cnp$tag type veth peer name pr0 netns "$probe"
ip link set cnp$tag master "$br" up
ip -n "$probe" link set lo up
ip -n "$probe" link set pr0 up
ip -n "$probe" addr add 10.201.0.9/24 dev pr0
ip -n "$probe" addr add fd00:201::9/64 dev pr0 nodad

# A namespace for the tree: eth0 with its outer end $2 on the bridge.
mkns() {  # name outer
  echo "$1" >>"$w/nss"
  ip netns add "$1" || return 1
  ip link add "$2" type veth peer name eth0 netns "$1" && ip link set "$2" master "$br" up && ip -n "$1" link set lo up &&
    ip -n "$1" link set eth0 address 02:00:0a:c9:00:02 up
}
# Its state: addresses, routes in two tables, rules, firewall.
configure() {
  ip netns exec "$1" sh -c '
    ip addr add 10.201.0.2/24 dev eth0 && ip addr add 10.201.0.3/24 dev eth0 && ip addr add fd00:201::2/64 dev eth0 nodad &&
    ip route add default via 10.201.0.1 && ip route add 10.202.0.0/16 via 10.201.0.1 table 100 &&
    ip -6 route add fd00:202::/64 via fd00:201::1 table 100 &&
    ip rule add from 10.201.0.0/24 lookup 100 pref 1000 && ip -6 rule add from fd00:201::/64 lookup 100 pref 1001 &&
    printf "*filter\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n-A INPUT -p tcp --dport 22 -j DROP\nCOMMIT\n" | iptables-restore &&
    nft add table inet app && nft add chain inet app c "{ type filter hook input priority 10 ; }" &&
    nft add rule inet app c tcp dport 24 counter drop' || return 1
  sysctl -q -w net.ipv4.conf.all.forwarding=0 >/dev/null 2>&1 || true
  ip netns exec "$1" sysctl -qw net.ipv4.conf.eth0.arp_ignore=1
}
# What must come back the same (timers, counters, lifetimes and the
# outer end's index masked).
listing() {  # netns-path
  nsenter --net="$1" sh -c 'ip -d addr; ip -d route show table all | sort; ip -6 -d route show table all | sort;
    ip rule; ip -6 rule; nft list ruleset; iptables-save; ip6tables-save; sysctl net.ipv4.conf.eth0.arp_ignore' |
    sed -E 's/[a-z_]*_timer +[0-9.]+//g; s/@if[0-9]+//; s/link-netns(id)? [^ ]+//; s/packets [0-9]+ bytes [0-9]+//;
      s/\[[0-9]+:[0-9]+\]//g; s/(valid|preferred)_lft [^ ]+//g; s/ tentative//; s/expires [^ ]+//; s/^# (Generated|Completed).*//'
}
start_in() {  # netns-path dir
  d=$2; mkdir -p "$d/run" "$d/img"
  pid=$(cd "$d/run" && CRYO_PROG_DIR=$d/run nsenter --net="$1" "$spawn" -o "$d/out" "$prog")
  track "$pid"
  wait_file "$d/run/ready" || { echo "never ready"; return 1; }
}
verdict() {
  touch "$d/run/go"
  wait_file "$d/run/result" || { echo "no verdict"; return 1; }
  local v; v=$(head -n1 "$d/run/result")
  [ "$v" = PASS ] || echo "$v"
}
probe_tcp() {  # addr: "refused" (a reset), "open", or "silent" (nothing within 2 s)
  ip netns exec "$probe" timeout 2 bash -c "exec 3<>/dev/tcp/$1/7" 2>/dev/null && { echo open; return; }
  [ $? = 124 ] && echo silent || echo refused
}

veth_restore() {
  local ns=cryo-nt-$tag
  mkns "$ns" cnh$tag && configure "$ns" || { echo "setup failed"; return; }
  start_in /run/netns/"$ns" "$w/veth" || return
  local before; before=$(listing /run/netns/"$ns")
  "$cryo" dump -t "$pid" -D "$d/img" -o dump.log -v4 >"$d/dump.out" 2>&1 || { echo "dump: $(cat "$d/dump.out")"; return; }
  wait_gone "$pid"
  crit_decode_all "$d/img"
  for f in ifaddr-3 route-3 route6-3 rule-3 iptables-3 nftables-3; do [ -s "$d/img/$f.img" ] || echo "no $f.img"; done
  # The tree's namespace goes with the tree (migration); its twin is made.
  ip netns del "$ns"; wait_no_link cnh$tag
  if "$cryo" restore -D "$d/img" -d -o restore-noveth.log >"$d/r0.out" 2>&1; then echo "restored without --external veth"
  else grep -q 'external veth\[eth0\]' "$d/r0.out" || echo "unclear error: $(cat "$d/r0.out")"; fi
  "$cryo" restore -D "$d/img" -d -o restore.log -v4 --pidfile "$d/rpid" --external "veth[eth0]:cnr$tag@$br" >"$d/r.out" 2>&1 ||
    { echo "restore: $(cat "$d/r.out")"; return; }
  pid=$(cat "$d/rpid"); track "$pid"
  local after; after=$(listing /proc/"$pid"/ns/net)
  [ "$before" = "$after" ] || diff <(echo "$before") <(echo "$after") | head -n 8
  ip -o link show cnr$tag | grep -q "master $br" || echo "the outer end is not on $br"
  nsenter --net=/proc/"$pid"/ns/net nft list tables | grep -q cryo-lock && echo "still locked after restore"
  [ "$(probe_tcp 10.201.0.2)" = refused ] || echo "the restored tree does not answer on the bridge"
  verdict
}
run veth-restore veth_restore

# CRIU's --external netdev[IN]:ORIG: a veth made beforehand on the host is
# moved into the restored namespace as IN, with IN's index. Before that,
# restores that fail (a device that is not there, a bridge that is not
# there) leave no veth behind on the host.
netdev_move() {
  local ns=cryo-nt3-$tag
  mkns "$ns" cnh$tag && configure "$ns" || { echo "setup failed"; return; }
  start_in /run/netns/"$ns" "$w/netdev" || return
  local before; before=$(listing /run/netns/"$ns")
  "$cryo" dump -t "$pid" -D "$d/img" -o dump.log -v4 >"$d/dump.out" 2>&1 || { echo "dump: $(cat "$d/dump.out")"; return; }
  wait_gone "$pid"
  ip netns del "$ns"; wait_no_link cnh$tag
  if "$cryo" restore -D "$d/img" -d -o r1.log --external "netdev[eth0]:cnnone$tag" >"$d/r1.out" 2>&1; then
    echo "restored with a netdev that does not exist"
  else grep -q "cnnone$tag" "$d/r1.out" || echo "unclear error: $(cat "$d/r1.out")"; fi
  if "$cryo" restore -D "$d/img" -d -o r2.log --external "veth[eth0]:cnf$tag@nobr$tag" >"$d/r2.out" 2>&1; then
    echo "restored onto a bridge that does not exist"
  fi
  ip link show cnf$tag >/dev/null 2>&1 && echo "a failed restore left veth cnf$tag behind"
  ip link add cnx$tag type veth peer name cnm$tag && ip link set cnx$tag master "$br" up || { echo "no veth to move"; return; }
  "$cryo" restore -D "$d/img" -d -o restore.log -v4 --pidfile "$d/rpid" --external "netdev[eth0]:cnm$tag" >"$d/r.out" 2>&1 ||
    { echo "restore: $(cat "$d/r.out")"; return; }
  pid=$(cat "$d/rpid"); track "$pid"
  ip link show cnm$tag >/dev/null 2>&1 && echo "cnm$tag is still on the host"
  local after; after=$(listing /proc/"$pid"/ns/net)
  [ "$before" = "$after" ] || diff <(echo "$before") <(echo "$after") | head -n 8
  [ "$(probe_tcp 10.201.0.2)" = refused ] || echo "the restored tree does not answer on the bridge"
  verdict
}
run netdev-move netdev_move

# --leave-running with an action script that probes at post-dump: while
# the tree is frozen its namespace answers nothing, not even a reset;
# afterwards it answers again, and no lock table is left.
lock_probe() {  # method
  local ns=cryo-nl$1-$tag
  mkns "$ns" cnx$tag && ip -n "$ns" addr add 10.201.0.2/24 dev eth0 && ip -n "$ns" addr add fd00:201::2/64 dev eth0 nodad ||
    { echo "setup failed"; return; }
  start_in /run/netns/"$ns" "$w/lock-$1" || return
  [ "$(probe_tcp 10.201.0.2)" = refused ] && [ "$(probe_tcp fd00:201::2)" = refused ] ||
    { echo "no reset before the dump"; return; }
  cat >"$d/script" <<S
#!/bin/sh
[ "\$CRTOOLS_SCRIPT_ACTION" = post-dump ] || exit 0
{ ip netns exec $probe timeout 2 bash -c "exec 3<>/dev/tcp/10.201.0.2/7" 2>/dev/null; echo "tcp \$?"
  ip netns exec $probe timeout 2 bash -c "exec 3<>/dev/tcp/fd00:201::2/7" 2>/dev/null; echo "tcp6 \$?"
  ip netns exec $ns nft list tables; ip netns exec $ns iptables-save | grep -c CRYO-; } >$d/probed
exit 0
S
  chmod +x "$d/script"
  "$cryo" dump -t "$pid" -D "$d/img" -o dump.log -v4 --leave-running --network-lock "$1" --action-script "$d/script" \
    >"$d/dump.out" 2>&1 || { echo "dump: $(cat "$d/dump.out")"; return; }
  grep -qx "tcp 124" "$d/probed" || echo "a probe got an answer while locked: $(head -n1 "$d/probed")"
  grep -qx "tcp6 124" "$d/probed" || echo "an IPv6 probe got an answer while locked"
  if [ "$1" = nftables ]; then grep -q "table inet cryo-lock-" "$d/probed" || echo "no lock table at post-dump"
  else grep -qx "[1-9][0-9]*" "$d/probed" || echo "no lock chain at post-dump"; fi
  [ "$(probe_tcp 10.201.0.2)" = refused ] && [ "$(probe_tcp fd00:201::2)" = refused ] || echo "no reset after the dump"
  ip netns exec "$ns" nft list tables | grep -q cryo-lock && echo "the lock table is left"
  ip netns exec "$ns" iptables-save 2>/dev/null | grep -q CRYO- && echo "the lock chain is left"
  verdict
  ip netns del "$ns"; wait_no_link cnx$tag
}
run network-lock-nftables lock_probe nftables
run network-lock-iptables lock_probe iptables

# A namespace a CNI plugin prepared: lo and a veth named as dumped, no
# addresses. The tree joins it; eth0 gets its addresses and routes back,
# nothing else is made.
precreated() {  # how: join or external
  local ns=cryo-nt2-$tag pod=cryo-pod$1-$tag
  mkns "$ns" cnh$tag && configure "$ns" || { echo "setup failed"; return; }
  start_in /run/netns/"$ns" "$w/pre-$1" || return
  local want; want=$(ip -n "$ns" addr show dev eth0 | grep "scope global"; ip -n "$ns" route show table 100)
  local extra=()
  [ "$1" = external ] && extra=(--external "net[$(stat -L -c %i /run/netns/"$ns")]:pod-net")
  "$cryo" dump -t "$pid" -D "$d/img" -o dump.log -v4 "${extra[@]}" >"$d/dump.out" 2>&1 || { echo "dump: $(cat "$d/dump.out")"; return; }
  wait_gone "$pid"
  if [ "$1" = join ]; then
    ip netns del "$ns"; wait_no_link cnh$tag
    mkns "$pod" cnj$tag || { echo "pod setup failed"; return; }
    "$cryo" restore -D "$d/img" -d -o restore.log -v4 --pidfile "$d/rpid" --join-ns "net:/var/run/netns/$pod" >"$d/r.out" 2>&1 ||
      { echo "restore: $(cat "$d/r.out")"; return; }
    pid=$(cat "$d/rpid"); track "$pid"
    local got; got=$(ip -n "$pod" addr show dev eth0 | grep "scope global"; ip -n "$pod" route show table 100)
    [ "$got" = "$want" ] || echo "eth0: want [$want] got [$got]"
  else
    # The pod's namespace outlives the tree, locked by the dump: the
    # restore into it (fd 7) lifts that lock.
    ip netns exec "$ns" nft list tables | grep -q cryo-lock || echo "the dump left no lock in the pod's namespace"
    "$cryo" restore -D "$d/img" -d -o restore.log -v4 --pidfile "$d/rpid" --inherit-fd "fd[7]:pod-net" 7</run/netns/"$ns" \
      >"$d/r.out" 2>&1 || { echo "restore: $(cat "$d/r.out")"; return; }
    pid=$(cat "$d/rpid"); track "$pid"
    [ "$(stat -L -c %i /proc/"$pid"/ns/net)" = "$(stat -L -c %i /run/netns/"$ns")" ] || echo "not in the pod's namespace"
    ip netns exec "$ns" nft list tables | grep -q cryo-lock && echo "the dump's lock is still there"
    [ "$(probe_tcp 10.201.0.2)" = refused ] || echo "the restored tree does not answer on the bridge"
  fi
  verdict
}
run precreated-veth-join-ns precreated join
run external-netns-inherit-fd precreated external
exit 0
