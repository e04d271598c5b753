#!/usr/bin/env bash
# Lazy pages: `restore --lazy-pages` leaves the private anonymous memory
# of the tree to `cryo lazy-pages`, which fills it in through userfaultfd
# while the tree runs, from the images (a plain dump) or from the page
# server of a `dump --lazy-pages` (the tree stays frozen on the dumping
# side until every page is taken). lazyhog checks every page after doing
# what a tracker of its memory must follow (fork, mremap, MADV_DONTNEED,
# kernel reads, writes).
. "$(dirname "$0")/../lib/common.sh"
prog=$build/integration/lazy/lazyhog
wait_file() { for _ in $(seq 1500); do [ -e "$1" ] && return 0; sleep 0.01; done; return 1; }
wait_gone() { for _ in $(seq 1500); do alive "$1" || return 0; sleep 0.01; done; return 1; }
# A free TCP port on 127.0.0.1.
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
# Pages of a pagemap whose entries have flag bit BIT, as Debian's crit reads them.
pages_with() {  # file bit
  crit decode -i "$1" 2>/dev/null | python3 -c '
import json, sys
d = json.load(sys.stdin)
print(sum(e["nr_pages"] for e in d["entries"][1:] if e.get("flags", 4) & int(sys.argv[1])))' "$2"
}
failed=0 passed=0
cleanup() { kill -9 ${PID:-} ${RPID:-} ${DPID:-} ${SPID:-} 2>/dev/null; wait 2>/dev/null; PID= RPID= DPID= SPID=; }
# Runs case function FN (in this shell: it sets W and the pids), then
# cleans up after it.
run_case() {  # name fn
  local out; out=$(mktemp /tmp/cryo-lazy-case.XXXXXX)
  if $2 >"$out" 2>&1; then
    echo "PASS $1"; passed=$((passed + 1)); rm -rf "$W"
  else
    echo "FAIL $1: $(tail -n 3 "$out" | tr '\n' ' ') (work dir $W)"; failed=$((failed + 1))
  fi
  rm -f "$out"
  cleanup
}

if ! "$cryo" check --feature uffd-noncoop >/dev/null 2>&1; then
  echo "SKIP lazy: this kernel has no non-cooperative userfaultfd (cryo check --feature uffd-noncoop)"
  echo "0 passed, 0 failed"
  exit 0
fi

# Starts lazyhog; sets W (work dir) and PID.
start() {
  W=$(mktemp -d /tmp/cryo-lazy.XXXXXX)
  mkdir -p "$W/run" "$W/img"
  PID=$(cd "$W/run" && CRYO_PROG_DIR=$W/run "$spawn" -o "$W/out" "$prog")
  wait_file "$W/run/ready" || { echo "never ready: $(cat "$W/run/result" "$W/out" 2>/dev/null)"; return 1; }
}
# Lets the program check (whichever copy of it runs), and its verdict.
verdict() {  # what
  touch "$W/run/go"
  wait_file "$W/run/result" || { echo "no verdict"; return 1; }
  local v; v=$(head -n1 "$W/run/result")
  [ "$v" = PASS ] || { echo "$1: $v"; return 1; }
}
# The daemon, in the background; its status fd says when it listens.
daemon() {  # images dir, more flags
  local dir=$1
  shift
  rm -f "$W/daemon.ready"
  "$cryo" lazy-pages -D "$dir" -o lazy.log -v4 "$@" --status-fd 9 9>"$W/daemon.ready" >"$W/daemon.out" 2>&1 &
  DPID=$!
  for _ in $(seq 1500); do [ -s "$W/daemon.ready" ] && return 0; alive "$DPID" || break; sleep 0.01; done
  echo "the daemon did not start: $(cat "$W/daemon.out")"
  return 1
}
# Restores $1 lazily, lets the program check, waits for the verdict and
# the daemon's end. Sets RPID.
restore_and_check() {  # images dir, more flags
  local dir=$1
  shift
  if ! "$cryo" restore -D "$dir" --lazy-pages -d -o restore.log -v4 --pidfile "$W/rpid" "$@" >"$W/restore.out" 2>&1; then
    echo "restore: $(tail -n 2 "$W/restore.out" | tr '\n' ' ') (log $dir/restore.log)"
    return 1
  fi
  RPID=$(cat "$W/rpid")
  verdict "restored" || return 1
  wait_gone "$RPID"
  wait "$DPID" || { echo "the daemon failed: $(tail -n 3 "$dir/lazy.log" | tr '\n' ' ')"; return 1; }
  # The daemon answered faults, and copied the rest behind them.
  local line
  line=$(grep "pages copied into" "$dir/lazy.log")
  [[ $line =~ \(([0-9]+)\ on\ faults ]] && [ "${BASH_REMATCH[1]}" -gt 0 ] ||
    { echo "the daemon answered no fault: $line"; return 1; }
}

# 1. A plain dump, restored lazily from its own pages files.
local_lazy() {
  start || return 1
  "$cryo" dump -t "$PID" -D "$W/img" -o dump.log -v4 >"$W/dump.out" 2>&1 ||
    { echo "dump: $(tail -n 2 "$W/dump.out")"; return 1; }
  wait_gone "$PID" || { echo "the dump left the tree running"; return 1; }
  # No daemon yet: a clear error, nothing left behind.
  if "$cryo" restore -D "$W/img" --lazy-pages -d -o early.log >"$W/early.out" 2>&1; then
    echo "a lazy restore without a daemon succeeded"; return 1
  fi
  grep -q "start \`cryo lazy-pages\` first" "$W/early.out" || { echo "unclear error: $(cat "$W/early.out")"; return 1; }
  ! alive "$PID" || { echo "the failed restore left $PID"; return 1; }
  daemon "$W/img" || return 1
  restore_and_check "$W/img" || return 1
  grep -q "lazy pages: took process $PID" "$W/img/lazy.log" || { echo "the daemon never took $PID"; return 1; }
}
run_case local-images local_lazy

# dump --lazy-pages in the background, serving on PORT once ready (SPID).
lazy_dump() {  # port
  "$cryo" dump -t "$PID" -D "$W/img" -o dump.log -v4 --lazy-pages --address 127.0.0.1 --port "$1" \
    --status-fd 8 8>"$W/dump.ready" >"$W/dump.out" 2>&1 &
  SPID=$!
  for _ in $(seq 1500); do [ -s "$W/dump.ready" ] && break; alive "$SPID" || break; sleep 0.01; done
  [ -s "$W/dump.ready" ] || { echo "the lazy dump never got ready: $(tail -n 2 "$W/dump.out")"; return 1; }
}

# 2. dump --lazy-pages: the pages stay with the frozen tree, served to the
# daemon on the restoring side (here a copy of the images without them).
remote_lazy() {
  start || return 1
  local port; port=$(free_port)
  lazy_dump "$port" || return 1
  alive "$PID" || { echo "the tree is gone while its pages are still to serve"; return 1; }
  local lazy
  lazy=$(pages_with "$W/img/pagemap-$PID.img" 2)
  [ "${lazy:-0}" -ge 16384 ] || { echo "only ${lazy:-0} pages marked PE_LAZY"; return 1; }
  cp -a "$W/img" "$W/copy"
  # Without the daemon the restore says where the pages are, and leaves nothing.
  if "$cryo" restore -D "$W/copy" -d -o plain.log >"$W/plain.out" 2>&1; then
    echo "a restore without --lazy-pages succeeded"; return 1
  fi
  grep -q "stayed on the dumping host" "$W/plain.out" || { echo "unclear error: $(cat "$W/plain.out")"; return 1; }
  daemon "$W/copy" --page-server --address 127.0.0.1 --port "$port" || return 1
  # The dumped tree is still here, frozen, at its pids.
  restore_and_check "$W/copy" --new-pidns || return 1
  wait "$SPID" || { echo "the lazy dump failed: $(tail -n 2 "$W/dump.out")"; return 1; }
  wait_gone "$PID" || { echo "the dumped tree still runs after its pages were served"; return 1; }
  grep -q "lazy pages: [0-9]* pages served" "$W/img/dump.log" || { echo "no pages served"; return 1; }
  for f in "$W"/img/*.img; do
    case $f in */pages-*) continue ;; esac
    crit decode -i "$f" >/dev/null 2>&1 || { echo "crit cannot decode $f"; return 1; }
  done
}
run_case page-server remote_lazy

# 3. The daemon dies before it has the pages: the lazy dump fails and the
# tree runs on, as it was; the images are not a dump any more.
daemon_dies() {
  start || return 1
  local port; port=$(free_port)
  lazy_dump "$port" || return 1
  daemon "$W/img" --page-server --address 127.0.0.1 --port "$port" || return 1
  kill -9 "$DPID"
  if wait "$SPID"; then echo "the lazy dump succeeded without its daemon"; return 1; fi
  SPID=
  grep -q "hung up before it had every page" "$W/dump.out" || { echo "unclear error: $(tail -n 2 "$W/dump.out")"; return 1; }
  [ ! -e "$W/img/inventory.img" ] || { echo "the failed dump left an inventory"; return 1; }
  alive "$PID" || { echo "the tree did not survive the failed dump"; return 1; }
  verdict "after the failed dump"
}
run_case daemon-dies daemon_dies

# 4. The restore fails after handing its processes over (a fault injected
# before the tree runs): it kills them, the daemon fails without telling
# the dumping side it is done, and the lazy dump lets its tree run on.
restore_fails() {
  start || return 1
  local port; port=$(free_port)
  lazy_dump "$port" || return 1
  cp -a "$W/img" "$W/copy"
  daemon "$W/copy" --page-server --address 127.0.0.1 --port "$port" || return 1
  if CRYO_FAULT=restore-cgroups "$cryo" restore -D "$W/copy" --lazy-pages --new-pidns -d -o restore.log \
    >"$W/restore.out" 2>&1; then
    echo "the restore succeeded with a fault injected"; return 1
  fi
  if wait "$DPID"; then echo "the daemon succeeded for a failed restore"; return 1; fi
  DPID=
  grep -q "the restore failed" "$W/copy/lazy.log" || { echo "daemon: $(tail -n 1 "$W/copy/lazy.log")"; return 1; }
  if wait "$SPID"; then echo "the lazy dump succeeded for a failed restore"; return 1; fi
  SPID=
  alive "$PID" || { echo "the dumped tree did not survive the failed restore"; return 1; }
  verdict "after the failed restore"
}
run_case restore-fails restore_fails

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
