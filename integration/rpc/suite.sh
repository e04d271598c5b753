#!/usr/bin/env bash
# CRIU's RPC, driven by a real client of it (client.py, on the messages of
# Debian's pycriu): `cryo swrk N` on an arbitrary fd and `cryo service`;
# VERSION, FEATURE_CHECK, DUMP and RESTORE (rst_sibling) with every
# notification in CRIU's order, a client that refuses one, errors as
# replies (no such pid, a malformed packet, an unknown type, what this
# build does not do), and proof that cryo answered: its own log in the
# images dir.
set -uo pipefail
build=${CRYO_BUILD:?}
cryo=${CRYO:-$build/cli/cryo}
if [ -z "${CRYO_UNDER_REAPER:-}" ]; then
  CRYO_UNDER_REAPER=1 exec "$build/integration/programs/reaper" bash "$0" "$@"
fi
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
spawn=$build/integration/programs/spawn
counter=$build/integration/counter
if ! /usr/bin/python3 -c 'import pycriu.rpc_pb2' 2>/dev/null; then
  echo "SKIP rpc: Debian's python3-pycriu (package criu) is not installed: hack/setup.sh installs it"
  exit 0
fi
client() { CRYO=$cryo /usr/bin/python3 "$here/client.py" "$@"; }
j() { /usr/bin/python3 -c "import json,sys; d=json.load(sys.stdin); print($1)"; }
w=$(mktemp -d /tmp/cryo-rpc.XXXXXX)
# Started pids go to a file: helpers run in $(...) subshells.
track() { echo "$1" >>"$w/pids"; }
cleanup() { while read -r p; do kill -9 "$p" 2>/dev/null; done <"$w/pids" 2>/dev/null; rm -rf "$w"; }
trap cleanup EXIT
alive() { kill -0 "$1" 2>/dev/null && [ "$(awk '{print $3}' /proc/"$1"/stat 2>/dev/null)" != Z ]; }
wait_gone() { for _ in $(seq 500); do alive "$1" || return 0; sleep 0.01; done; return 1; }
start_counter() {  # dir
  local pid
  pid=$("$spawn" -o "$1/out" "$counter")
  track "$pid"
  for _ in $(seq 100); do [ -s "$1/out" ] && break; sleep 0.01; done
  echo "$pid"
}
counting() {  # dir: the counter's output grows
  local a b
  a=$(wc -l <"$1/out"); sleep 0.4; b=$(wc -l <"$1/out")
  [ "$b" -gt "$a" ]
}
check() {  # name, then a python condition over the reply `d`, then the reply
  local name=$1 cond=$2 reply=$3
  if /usr/bin/python3 -c "import json,sys; d=json.loads(sys.argv[1]); sys.exit(0 if ($cond) else 1)" "$reply" 2>/dev/null; then
    echo "PASS $name"
  else
    echo "FAIL $name: $reply"
  fi
}

r=$(client version --fd 11)
check version-any-fd 'd["final"]["version"] == [4, 2] and d["final"]["success"] and d["exit"] == 0' "$r"

# mem_track: writes are tracked with PAGEMAP_SCAN + uffd-wp where the
# kernel has them (it does here: no soft-dirty needed); lazy_pages where
# userfaultfd has the non-cooperative events (docs/lazy-pages.md).
track=False lazy=False
"$cryo" check --feature mem_dirty_track >/dev/null 2>&1 && track=True
"$cryo" check --feature uffd-noncoop >/dev/null 2>&1 && lazy=True
r=$(client features --fd 8)
check feature-check "d['final']['features'] == {'mem_track': $track, 'lazy_pages': $lazy, 'pidfd_store': False} and d['exit'] == 0" "$r"

# DUMP with notifications, then RESTORE as the client's child.
d=$w/cr; mkdir -p "$d/img"
pid=$(start_counter "$d")
r=$(client dump --images "$d/img" --pid "$pid" --notify --log dump.log)
check dump-notifies 'd["final"] == {"type": "DUMP", "success": True, "restored": False} and d["exit"] == 0 and [n[0] for n in d["notifies"]] == ["pre-dump", "network-lock", "query-ext-files", "post-dump"]' "$r"
wait_gone "$pid" || echo "FAIL dump-kills: $pid still runs"
if grep -q "rpc swrk), dump request" "$d/img/dump.log" 2>/dev/null; then echo "PASS dump-answered-by-cryo"
else echo "FAIL dump-answered-by-cryo: $(head -c 300 "$d/img/dump.log" 2>&1)"; fi
r=$(client restore --images "$d/img" --notify --sibling --log restore.log)
check restore-sibling-notifies "d['final']['success'] and d['final']['pid'] == $pid and d['final']['our_child'] and d['exit'] == 0 and d['notifies'] == [['pre-restore', 0], ['setup-namespaces', $pid], ['post-setup-namespaces', 0], ['post-restore', $pid], ['network-unlock', 0], ['pre-resume', 0], ['post-resume', 0]]" "$r"
if counting "$d"; then echo "PASS restore-keeps-counting"; else echo "FAIL restore-keeps-counting: $(tail -n2 "$d/out")"; fi
grep -q "rpc swrk), restore request" "$d/img/restore.log" && echo "PASS restore-answered-by-cryo" ||
  echo "FAIL restore-answered-by-cryo: no cryo line in restore.log"
kill -9 "$pid"; wait_gone "$pid"

# PRE_DUMP, then DUMP in the same session with the pre-dump as parent
# images (track_mem, parent_img): the dump points into the parent for the
# pages untouched since, the restored counter counts on.
if [ "$track" = True ]; then
  d=$w/pre; mkdir -p "$d/pre" "$d/img"
  pid=$(start_counter "$d")
  r=$(client pre-dump --images "$d/pre" --pid "$pid" --then-dump "$d/img" --notify --log dump.log)
  check pre-dump-then-dump 'd["pre"] == {"type": "PRE_DUMP", "success": True} and d["final"] == {"type": "DUMP", "success": True, "restored": False} and d["exit"] == 0' "$r"
  wait_gone "$pid" || echo "FAIL pre-dump-then-dump-kills: $pid still runs"
  if [ "$(readlink "$d/img/parent")" = ../pre ] && /usr/bin/crit decode -i "$d/img/pagemap-$pid.img" | grep -q '"flags": 1'; then
    echo "PASS pre-dump-parent-pages"
  else
    echo "FAIL pre-dump-parent-pages: no parent link or no PE_PARENT entry"
  fi
  r=$(client restore --images "$d/img" --log restore.log)
  check pre-dump-restore "d['final']['success'] and d['final']['pid'] == $pid" "$r"
  if counting "$d"; then echo "PASS pre-dump-restore-counts"; else echo "FAIL pre-dump-restore-counts: $(tail -n2 "$d/out")"; fi
  kill -9 "$pid"; wait_gone "$pid"
else
  echo "SKIP pre-dump-then-dump: this kernel cannot track memory writes"
fi

# A client that says no at post-dump: the tree runs on, no inventory.
d=$w/refused; mkdir -p "$d/img"
pid=$(start_counter "$d")
r=$(client dump --images "$d/img" --pid "$pid" --notify --refuse post-dump)
check dump-refused 'd["final"]["type"] == "DUMP" and not d["final"]["success"] and "post-dump" in d["final"]["errmsg"] and d["exit"] != 0' "$r"
if counting "$d" && [ ! -e "$d/img/inventory.img" ]; then echo "PASS dump-refused-keeps-running"
else echo "FAIL dump-refused-keeps-running"; fi
kill -9 "$pid"; wait_gone "$pid"

# --leave-running: a reply, and the tree goes on.
d=$w/leave; mkdir -p "$d/img"
pid=$(start_counter "$d")
r=$(client dump --images "$d/img" --pid "$pid" --leave-running)
check dump-leave-running 'd["final"]["success"] and d["notifies"] == []' "$r"
counting "$d" && echo "PASS dump-leave-running-runs" || echo "FAIL dump-leave-running-runs"
kill -9 "$pid"; wait_gone "$pid"

# Errors come back as replies, with cr_errno, and nothing is left.
mkdir -p "$w/none"
r=$(client dump --images "$w/none" --pid 99999)
check dump-no-such-pid 'not d["final"]["success"] and d["final"]["errno"] == 3 and "99999" in d["final"]["errmsg"] and len(d["final"]["errmsg"]) < 1024 and d["exit"] != 0' "$r"
r=$(client raw --hex 08ff0f1234deadbeef)
check malformed-request 'd["final"]["type"] == "EMPTY" and not d["final"]["success"] and d["final"]["errno"] == 56 and d["exit"] != 0' "$r"
r=$(client type --type 0)
check empty-request 'd["final"]["type"] == "EMPTY" and not d["final"]["success"] and d["exit"] != 0' "$r"
r=$(client pre-dump --images "$w/none" --pid 99999)
check pre-dump-no-such-pid 'd["final"]["type"] == "PRE_DUMP" and not d["final"]["success"] and d["final"]["errno"] == 3 and d["exit"] != 0' "$r"
r=$(client restore --images "$w/none")
check restore-empty-dir 'd["final"]["type"] == "RESTORE" and not d["final"]["success"] and d["final"]["pid"] == -1 and d["exit"] != 0' "$r"

# CPUINFO_DUMP writes cpuinfo.img (crit reads it); CPUINFO_CHECK passes on
# this CPU and fails, as an answer, for one with an xsave feature no CPU
# has yet.
mkdir -p "$w/cpu"
r=$(client cpuinfo-dump --images "$w/cpu")
if [ -s "$w/cpu/cpuinfo.img" ] && /usr/bin/crit decode -i "$w/cpu/cpuinfo.img" -o "$w/cpu/cpuinfo.json" 2>"$w/cpu/err"; then
  check cpuinfo-dump 'd["final"]["type"] == "CPUINFO_DUMP" and d["final"]["success"] and d["exit"] == 0' "$r"
else echo "FAIL cpuinfo-dump: no cpuinfo.img crit reads: $r $(cat "$w/cpu/err")"; fi
r=$(client cpuinfo-check --images "$w/cpu")
check cpuinfo-check 'd["final"]["type"] == "CPUINFO_CHECK" and d["final"]["success"] and d["exit"] == 0' "$r"
/usr/bin/python3 - "$w/cpu/cpuinfo.json" <<'PY'
import json, sys
j = json.load(open(sys.argv[1]))
j["entries"][0]["x86_entry"][0]["xfeatures_mask"] |= 1 << 62
json.dump(j, open(sys.argv[1], "w"))
PY
/usr/bin/crit encode -i "$w/cpu/cpuinfo.json" -o "$w/cpu/cpuinfo.img"
r=$(client cpuinfo-check --images "$w/cpu")
check cpuinfo-check-other-cpu 'd["final"]["type"] == "CPUINFO_CHECK" and not d["final"]["success"] and "xsave features" in d["final"]["errmsg"]' "$r"

# cryo service: the same over a listening socket; swrk-only fields refused.
"$cryo" service --address "$w/sock" -d --pidfile "$w/spid" -o "$w/service.log" -W "$w" --status-fd 7 \
  2>"$w/service.err" 7>"$w/status"
for _ in $(seq 100); do [ -S "$w/sock" ] && [ -s "$w/spid" ] && [ -s "$w/status" ] && break; sleep 0.02; done
spid=$(cat "$w/spid" 2>/dev/null)
[ -n "$spid" ] && track "$spid"
if [ "$(stat -c %a "$w/sock" 2>/dev/null)" = 666 ]; then echo "PASS service-socket-0666"; else echo "FAIL service-socket-0666: $(cat "$w/service.err")"; fi
if [ "$(od -An -tx1 "$w/status" | tr -d ' ')" = 00 ]; then echo "PASS service-status-fd"
else echo "FAIL service-status-fd: --status-fd got '$(od -An -tx1 "$w/status")'"; fi
r=$(client version --address "$w/sock")
check service-version 'd["final"]["version"] == [4, 2]' "$r"
d=$w/svc; mkdir -p "$d/img"
pid=$(start_counter "$d")
r=$(client dump --images "$d/img" --pid "$pid" --address "$w/sock" --notify)
check service-dump 'd["final"]["success"] and len(d["notifies"]) == 4' "$r"
wait_gone "$pid"
r=$(client restore --images "$d/img" --address "$w/sock" --sibling)
check service-refuses-sibling 'not d["final"]["success"] and "swrk only" in d["final"]["errmsg"]' "$r"
r=$(client restore --images "$d/img" --address "$w/sock")
check service-restore "d['final']['success'] and d['final']['pid'] == $pid" "$r"
counting "$d" && echo "PASS service-restore-counts" || echo "FAIL service-restore-counts"
kill -9 "$pid" 2>/dev/null
[ -n "$spid" ] && kill "$spid"

# The install step: a prefix of cryo's own whose criu is cryo, the
# system's criu untouched.
sys_before=$(ls -l /usr/sbin/criu 2>/dev/null)
if CRYO_BUILD_DIR=$build bash "$here/../../hack/install.sh" "$w/prefix" >/dev/null 2>"$w/install.err" &&
   [ "$(readlink "$w/prefix/bin/criu")" = cryo ] && [ "$("$w/prefix/bin/criu" --version)" = "Version: 4.2" ] &&
   [ "$(ls -l /usr/sbin/criu 2>/dev/null)" = "$sys_before" ]; then
  echo "PASS install-prefix"
else
  echo "FAIL install-prefix: $(cat "$w/install.err")"
fi
