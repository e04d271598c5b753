#!/usr/bin/env bash
# TCP connections that survive a checkpoint: a server and a client in two
# network namespaces stream to each other at once (tcp_stream checks
# every byte); the server's side is dumped with --tcp-established in the
# middle, killed, and restored, while the client goes on sending: no byte
# is lost, repeated or reset. IPv4 and IPv6, with the server sharing
# cryo's network namespace (each connection locked on its own) and with
# the server in a namespace of its own (the namespace locked, dumped and
# made again, its veth's outer end back on the bridge). Test addresses
# only: 10.203.x.x and fd00:203::/64. And --tcp-close: connections come
# back closed, the listener they came from as it was.
. "$(dirname "$0")/../lib/common.sh"
prog=$build/integration/tcp/tcp_stream
for t in ip nft nsenter unshare; do
  command -v $t >/dev/null || { echo "SKIP tcp: $t is missing (hack/setup.sh installs it)"; exit 0; }
done
w=$(mktemp -d /tmp/cryo-tcp.XXXXXX)
tag=$$
srv=cryo-ts-$tag cli=cryo-tc-$tag br=ctb$tag
track() { echo "$1" >>"$w/pids"; }
cleanup() {
  while read -r p; do kill -9 "$p" 2>/dev/null; done <"$w/pids" 2>/dev/null
  ip netns del "$srv" 2>/dev/null; ip netns del "$cli" 2>/dev/null
  for l in "$br" ctc$tag cto$tag cts$tag; do ip link del "$l" 2>/dev/null; done
  rm -rf "$w"; return 0
}
trap cleanup EXIT
wait_gone() { for _ in $(seq 500); do alive "$1" || return 0; sleep 0.01; done; return 1; }
wait_file() {  # path [tenths of a second]
  for _ in $(seq "${2:-1500}"); do [ -e "$1" ] && return 0; sleep 0.01; done; return 1
}
in_ns() { local ns=$1; shift; nsenter --net=/var/run/netns/"$ns" "$@"; }

# The client's namespace, on a bridge of cryo's namespace.
ip link add "$br" type bridge && ip link set "$br" up || { echo "FAIL tcp-setup: no bridge"; exit 0; }
ip netns add "$cli"
ip link add ctc$tag type veth peer name eth0 netns "$cli"
ip link set ctc$tag master "$br" up
ip -n "$cli" link set lo up && ip -n "$cli" link set eth0 up
ip -n "$cli" addr add 10.203.0.2/24 dev eth0 && ip -n "$cli" addr add fd00:203::2/64 dev eth0 nodad

# Both ends streaming; the server's side checkpointed in the middle.
# cycle NAME ADDR HOW: HOW "shared" runs the server in the named
# namespace $srv with cryo there too; "own" in a namespace only the
# server has (cryo dumps it from outside, with the namespace).
cycle() {
  local name=$1 addr=$2 how=$3 d=$w/$1 port=$((20000 + RANDOM % 20000))
  mkdir -p "$d/run" "$d/img"
  # What an earlier case left (it stopped early) goes first.
  [ -f "$w/pids" ] && while read -r p; do kill -9 "$p" 2>/dev/null; done <"$w/pids"
  # The outer end of an earlier server's veth, gone with its namespace
  # (a namespace goes away a little after its last process).
  ip link del cto$tag 2>/dev/null
  for _ in $(seq 2000); do ip link show cto$tag >/dev/null 2>&1 || break; sleep 0.01; done
  local spid cpid
  if [ "$how" = shared ]; then
    spid=$(in_ns "$srv" "$spawn" -o "$d/server.out" "$prog" server "$addr" $port "$d/run")
  else
    spid=$("$spawn" -o "$d/server.out" "$(command -v unshare)" --net "$prog" server "$addr" $port "$d/run" --wait)
    track "$spid"
    # spawn tells the pid before unshare has run.
    for _ in $(seq 500); do [ "$(readlink /proc/"$spid"/ns/net)" != "$(readlink /proc/self/ns/net)" ] && break; sleep 0.01; done
    ip link add cto$tag type veth peer name eth0 netns "$spid" || { echo "veth for $spid failed"; return; }
    ip link set cto$tag master "$br" up &&
      nsenter -t "$spid" -n sh -c "ip link set lo up && ip link set eth0 up && ip addr add 10.203.0.1/24 dev eth0 &&
        ip addr add fd00:203::1/64 dev eth0 nodad" || { echo "network of $spid: setup failed"; return; }
    touch "$d/run/start"
  fi
  track "$spid"
  wait_file "$d/run/listening-server" || { echo "the server never listened: $(cat "$d/run/result-server" 2>/dev/null)"; return; }
  cpid=$(in_ns "$cli" "$spawn" -o "$d/client.out" "$prog" client "$addr" $port "$d/run")
  track "$cpid"
  wait_file "$d/run/ready-server" && wait_file "$d/run/ready-client" || { echo "no connection"; return; }
  sleep 0.3
  local -a dumpcmd=("$cryo" dump -t "$spid" -D "$d/img" -o dump.log -v4 --tcp-established)
  local -a rstcmd=("$cryo" restore -D "$d/img" -d -o restore.log -v4 --tcp-established --pidfile "$d/rpid")
  if [ "$how" = shared ]; then
    dumpcmd=(nsenter --net=/var/run/netns/"$srv" "${dumpcmd[@]}")
    rstcmd=(nsenter --net=/var/run/netns/"$srv" "${rstcmd[@]}")
  else
    rstcmd+=(--external "veth[eth0]:cto$tag@$br")
  fi
  "${dumpcmd[@]}" >"$d/dump.err" 2>&1 || { echo "dump failed: $(tail -n2 "$d/dump.err")"; return; }
  wait_gone "$spid" || { echo "the server outlived its dump"; return; }
  [ -e "$d/run/result-client" ] && { echo "the client ended while the server was away: $(cat "$d/run/result-client")"; return; }
  # Away for a while: the client's packets meanwhile get no answer.
  sleep 1
  [ -e "$d/run/result-client" ] && { echo "the client ended while the server was away: $(cat "$d/run/result-client")"; return; }
  "${rstcmd[@]}" >"$d/restore.err" 2>&1 || { echo "restore failed: $(tail -n2 "$d/restore.err")"; return; }
  local rpid; rpid=$(cat "$d/rpid"); track "$rpid"
  wait_file "$d/run/result-server" 6000 && wait_file "$d/run/result-client" 6000 ||
    { echo "no verdict: server $(cat "$d/run/result-server" 2>/dev/null) client $(cat "$d/run/result-client" 2>/dev/null)"; return; }
  grep -q '^PASS' "$d/run/result-server" || echo "server: $(cat "$d/run/result-server")"
  grep -q '^PASS' "$d/run/result-client" || echo "client: $(cat "$d/run/result-client")"
  grep -q "connection(s)\|locked" "$d/img/dump.log" || echo "the dump took no network lock"
  crit_decode_all "$d/img"
  [ -n "$(in_ns "$cli" nft list tables 2>/dev/null | grep cryo-lock)" ] && echo "a lock is left in the client's namespace"
  if [ "$how" = shared ] && in_ns "$srv" nft list tables | grep -q cryo-lock; then echo "a lock is left in the server's namespace"; fi
  wait_gone "$rpid"
  return 0
}
run() {  # name fn [args]
  local name=$1 out; shift
  out=$("$@" 2>&1)
  if [ -z "$out" ]; then echo "PASS $name"; else echo "FAIL $name: $(echo "$out" | tail -n3 | tr '\n' ' ')"; fi
}

# The server's named namespace on the same bridge.
ip netns add "$srv"
ip link add cts$tag type veth peer name eth0 netns "$srv"
ip link set cts$tag master "$br" up
ip -n "$srv" link set lo up && ip -n "$srv" link set eth0 up
ip -n "$srv" addr add 10.203.0.1/24 dev eth0 && ip -n "$srv" addr add fd00:203::1/64 dev eth0 nodad
run tcp-shared-netns-ipv4 cycle shared4 10.203.0.1 shared
run tcp-shared-netns-ipv6 cycle shared6 fd00:203::1 shared
# The same addresses now belong to servers in namespaces of their own.
ip netns del "$srv"; ip link del cts$tag 2>/dev/null
ip -n "$cli" neigh flush all
run tcp-own-netns-ipv4 cycle own4 10.203.0.1 own
run tcp-own-netns-ipv6 cycle own6 fd00:203::1 own

# --tcp-close: the connections come back closed, the listener works.
tcp_close() {
  local d=$w/close
  mkdir -p "$d/run" "$d/img"
  local pid; pid=$(cd "$d/run" && CRYO_PROG_DIR=$d/run "$spawn" -o "$d/out" "$build/integration/tcp/tcp_close_option")
  track "$pid"
  wait_file "$d/run/ready" || { echo "never ready"; return; }
  "$cryo" dump -t "$pid" -D "$d/img" -o dump.log --tcp-close 2>"$d/err" || { echo "dump: $(cat "$d/err")"; return; }
  wait_gone "$pid" || { echo "outlived its dump"; return; }
  "$cryo" restore -D "$d/img" -d -o restore.log --tcp-close 2>"$d/err" || { echo "restore: $(cat "$d/err")"; return; }
  track "$pid"
  touch "$d/run/go"
  wait_file "$d/run/result" || { echo "no verdict"; return; }
  [ "$(head -n1 "$d/run/result")" = PASS ] || cat "$d/run/result"
  wait_gone "$pid"
  return 0
}
run tcp-close tcp_close
