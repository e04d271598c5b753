#!/usr/bin/env bash
# Incremental dumps: `cryo pre-dump` (memory only, writes tracked from then
# on), pre-dumps chained on it, and the final dump with --prev-images-dir,
# whose pagemap points into the parents (PE_PARENT) for every page not
# written since. memchurn changes its memory between the runs in every way
# a tracker must catch, and checks all of it after the restore.
. "$(dirname "$0")/../lib/common.sh"
prog=$build/integration/incremental/memchurn
wait_file() { for _ in $(seq 1500); do [ -e "$1" ] && return 0; sleep 0.01; done; return 1; }
wait_gone() { for _ in $(seq 1500); do alive "$1" || return 0; sleep 0.01; done; return 1; }
# The keeper of a tree's tracking listens on @cryo-memtrack-PID-START.
keeper_listens() { grep -q "@cryo-memtrack-$1-" /proc/net/unix; }
keeper_pid() { ss -xlp 2>/dev/null | grep "@cryo-memtrack-$1-" | sed -n 's/.*pid=\([0-9]*\).*/\1/p' | head -n1; }
# Entries, and pages, of a pagemap with flag FLAG (PE_PARENT or
# PE_PRESENT), as Debian's crit reads them.
pagemap_count() {  # what(entries|pages) file flag
  crit decode -i "$2" 2>/dev/null | python3 -c '
import json, sys
bit = {"PE_PARENT": 1, "PE_PRESENT": 4}[sys.argv[2]]
d = json.load(sys.stdin)
es = [e for e in d["entries"][1:] if e.get("flags", 4) & bit]
print(len(es) if sys.argv[1] == "entries" else sum(e["nr_pages"] for e in es))' "$1" "$3"
}
entries() { pagemap_count entries "$1" "$2"; }
pages_of() { pagemap_count pages "$1" "$2"; }

if ! "$cryo" check --feature mem_dirty_track >/dev/null 2>&1; then
  echo "SKIP incremental: this kernel cannot track memory writes (cryo check --feature mem_dirty_track)"
  exit 0
fi

# Runs memchurn through its steps; RUNS is what happens at each point:
#   start  (after ready)      step1 (after step 1)     step2 (after step 2)
# each a function taking the work dir; "-" for nothing. Then restores from
# $w/final (if the last function dumped) and checks the verdict.
churn() {  # name f_ready f_step1 f_step2
  local name=$1 w pid
  w=$(mktemp -d /tmp/cryo-incr.XXXXXX)
  mkdir -p "$w/run"
  pid=$(cd "$w/run" && CRYO_PROG_DIR=$w/run "$spawn" -o "$w/out" "${PROG:-$prog}")
  trap 'kill -9 $pid $(cat "$w/rpid" 2>/dev/null) 2>/dev/null; trap - RETURN' RETURN
  W=$w PID=$pid
  wait_file "$w/run/ready" || { echo "FAIL $name: never ready: $(cat "$w/run/result" "$w/out" 2>/dev/null)"; return 1; }
  if [ "$2" != - ] && ! $2; then return 1; fi
  touch "$w/run/step1"
  wait_file "$w/run/step1-done" || { echo "FAIL $name: step 1: $(cat "$w/run/result" 2>/dev/null)"; return 1; }
  if [ "$3" != - ] && ! $3; then return 1; fi
  touch "$w/run/step2"
  wait_file "$w/run/step2-done" || { echo "FAIL $name: step 2: $(cat "$w/run/result" 2>/dev/null)"; return 1; }
  if [ "$4" != - ] && ! $4; then return 1; fi
  if [ -e "$w/final/inventory.img" ]; then
    wait_gone "$pid" || { echo "FAIL $name: the final dump left the tree running"; return 1; }
    if ! "$cryo" restore -D "$w/final" -d -o restore.log -v4 --pidfile "$w/rpid" >"$w/restore.out" 2>&1; then
      echo "FAIL $name: restore: $(tail -n 2 "$w/restore.out" | tr '\n' ' ') (log $w/final/restore.log)"
      return 1
    fi
  fi
  touch "$w/run/go"
  wait_file "$w/run/result" || { echo "FAIL $name: no verdict"; return 1; }
  wait_gone "$pid"
  local v
  v=$(head -n1 "$w/run/result")
  [ "$v" = PASS ] || { echo "FAIL $name: $v"; return 1; }
  if [ -n "${CHECK:-}" ] && ! $CHECK; then return 1; fi
  rm -rf "$w"
  echo "PASS $name"
}

pre() {  # dir [parent]
  local args=()
  [ -n "${2:-}" ] && args=(--prev-images-dir "../$2")
  mkdir -p "$W/$1"
  "$cryo" pre-dump -t "$PID" -D "$W/$1" -o pre.log -v4 "${args[@]}" >"$W/$1.out" 2>&1 ||
    { echo "FAIL $NAME: pre-dump $1: $(tail -n 2 "$W/$1.out" | tr '\n' ' ')"; return 1; }
}
final() {  # parent [more flags]
  mkdir -p "$W/final"
  local parent=$1
  shift
  "$cryo" dump -t "$PID" -D "$W/final" -o dump.log -v4 --track-mem --prev-images-dir "../$parent" "$@" \
    >"$W/final.out" 2>&1 || { echo "FAIL $NAME: dump: $(tail -n 2 "$W/final.out" | tr '\n' ' ')"; return 1; }
}

# 1. The chain: pre-dump, step, pre-dump on it, step, dump on that.
NAME=pre-dump-chain
# Another user asking the keeper for the tree's userfaultfds gets nothing.
stranger_fetch() {  # pid: prints what came back
  setpriv --reuid 65534 --regid 65534 --clear-groups /usr/bin/python3 -c '
import socket, struct, sys
name = [l.split()[-1] for l in open("/proc/net/unix") if "@cryo-memtrack-%s-" % sys.argv[1] in l][0]
s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
s.connect("\0" + name[1:])
s.settimeout(5)
try:
    s.send(struct.pack("<IIiI48s", 0x544d454d, 1, 0, 0, b""))
    print(len(s.recv(1024)))
except (BrokenPipeError, ConnectionResetError):
    print(0)  # hung up on: refused
except Exception as e:
    print("error", e)' "$1" 2>&1
}
c1() {
  pre p1 || return 1
  keeper_listens "$PID" || { echo "FAIL $NAME: no keeper after the pre-dump"; return 1; }
  local got; got=$(stranger_fetch "$PID")
  [ "$got" = 0 ] || { echo "FAIL $NAME: another user asked the keeper and got: $got"; return 1; }
}
c2() { pre p2 p1; }
c3() { final p2; }
check_chain() {
  local pm="$W/final/pagemap-$PID.img" full parent present
  parent=$(pages_of "$pm" PE_PARENT)
  present=$(pages_of "$pm" PE_PRESENT)
  full=$(pages_of "$W/p1/pagemap-$PID.img" PE_PRESENT)
  # Step 2 wrote about a fifth of A, the dump the rest from the parents.
  if [ "${parent:-0}" -lt $((full / 2)) ] || [ "${present:-0}" -gt $((full / 2)) ]; then
    echo "FAIL $NAME: the dump wrote $present pages and left $parent in the parents (the first pre-dump wrote $full)"
    return 1
  fi
  [ "$(readlink "$W/final/parent")" = ../p2 ] || { echo "FAIL $NAME: no parent link"; return 1; }
  [ "$(pages_of "$W/p2/pagemap-$PID.img" PE_PARENT)" -gt 0 ] || { echo "FAIL $NAME: the second pre-dump was not incremental"; return 1; }
  keeper_listens "$PID" && { echo "FAIL $NAME: the keeper outlived the tree"; return 1; }
  for f in "$W"/p1/*.img "$W"/p2/*.img "$W"/final/pagemap-*.img; do
    case $f in */pages-*) continue ;; esac
    crit decode -i "$f" >/dev/null 2>&1 || { echo "FAIL $NAME: crit cannot decode $f"; return 1; }
  done
  return 0
}
CHECK=check_chain churn "$NAME" c1 c2 c3

# 2. A dump whose parent is not the last tracked run (tracking moved on to
# p2): every page is dumped, nothing wrongly taken from p1.
NAME=pre-dump-stale-parent
s3() { final p1; }
check_stale() {
  [ "$(entries "$W/final/pagemap-$PID.img" PE_PARENT)" = 0 ] || { echo "FAIL $NAME: pages taken from a stale parent"; return 1; }
  grep -q "not relative to the parent images" "$W/final/dump.log" || { echo "FAIL $NAME: no warning"; return 1; }
}
CHECK=check_stale churn "$NAME" c1 c2 s3

# 3. The keeper dies between the runs: tracking is lost, and the dump
# (rightly) takes nothing from the parent.
NAME=pre-dump-keeper-lost
k2() {
  local k
  k=$(keeper_pid "$PID")
  [ -n "$k" ] || { echo "FAIL $NAME: no keeper pid"; return 1; }
  kill -9 "$k"
}
k3() { final p1; }
CHECK=check_stale churn "$NAME" c1 k2 k3

# 4. A dump with --track-mem --leave-running, then one on it: tracking
# started by a full dump.
NAME=dump-track-mem-leave-running
l1() {
  mkdir -p "$W/d1"
  "$cryo" dump -t "$PID" -D "$W/d1" -o dump.log --track-mem --leave-running >"$W/d1.out" 2>&1 ||
    { echo "FAIL $NAME: dump: $(cat "$W/d1.out")"; return 1; }
}
l3() { final d1; }
check_l() { [ "$(pages_of "$W/final/pagemap-$PID.img" PE_PARENT)" -gt 0 ] || { echo "FAIL $NAME: not incremental"; return 1; }; }
CHECK=check_l churn "$NAME" l1 - l3

# 5. exec between two pre-dumps: the tracked memory is gone; the second
# pre-dump tracks the new one, and the dump after it is incremental again.
NAME=pre-dump-across-exec
e3() { final p2; }
check_exec() {
  [ "$(pages_of "$W/final/pagemap-$PID.img" PE_PARENT)" -gt 1000 ] ||
    { echo "FAIL $NAME: the dump after the exec took $(pages_of "$W/final/pagemap-$PID.img" PE_PARENT) pages from the parent"; return 1; }
}
PROG=$build/integration/incremental/execer CHECK=check_exec churn "$NAME" c1 c2 e3

# 6. Dedup: the parents' copies of pages the dump holds itself are punched
# out of their pages files (--auto-dedup, or `cryo dedup` afterwards);
# the dump still restores whole.
holes() {  # pages file: bytes allocated less than its size
  /usr/bin/python3 -c 'import os,sys; st=os.stat(sys.argv[1]); sys.exit(0 if st.st_blocks*512 < st.st_size else 1)' "$1"
}
check_dedup() {
  holes "$W/p1/pages-1.img" || { echo "FAIL $NAME: nothing was freed in p1's pages"; return 1; }
  grep -q "pages freed" "$W/final/dump.log" "$W/final/dedup.log" 2>/dev/null || { echo "FAIL $NAME: no dedup in the logs"; return 1; }
}
NAME=dump-auto-dedup
a3() { final p2 --auto-dedup; }
CHECK=check_dedup churn "$NAME" c1 c2 a3
NAME=dedup-command
o3() { final p2 && "$cryo" dedup -D "$W/final" -o dedup.log -v4 >"$W/dedup.out" 2>&1 || { echo "FAIL $NAME: dedup: $(cat "$W/dedup.out")"; return 1; }; }
CHECK=check_dedup churn "$NAME" c1 c2 o3

# 7. Restoring a pre-dump alone: one line saying what it is.
w=$(mktemp -d /tmp/cryo-incr.XXXXXX)
mkdir -p "$w/run" "$w/p1"
pid=$(cd "$w/run" && CRYO_PROG_DIR=$w/run "$spawn" -o "$w/out" "$prog")
if wait_file "$w/run/ready" && "$cryo" pre-dump -t "$pid" -D "$w/p1" >/dev/null 2>&1; then
  out=$("$cryo" restore -D "$w/p1" -d 2>&1)
  rc=$?
  if [ $rc -ne 0 ] && [ "$(printf '%s\n' "$out" | wc -l)" = 1 ] && [[ $out == *pre-dump* ]] && alive "$pid"; then
    echo "PASS restore-of-a-pre-dump-refused"
  else
    echo "FAIL restore-of-a-pre-dump-refused: rc=$rc $out"
  fi
else
  echo "FAIL restore-of-a-pre-dump-refused: no pre-dump"
fi
kill -9 "$pid" 2>/dev/null
wait_gone "$pid"
for _ in $(seq 300); do keeper_listens "$pid" || break; sleep 0.01; done
keeper_listens "$pid" && echo "FAIL keeper-ends-with-its-tree: still listening after $pid was killed" ||
  echo "PASS keeper-ends-with-its-tree"
rm -rf "$w"
