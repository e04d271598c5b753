#!/usr/bin/env bash
# The page server (CRIU's page_server_iov protocol, both ends cryo's):
# `cryo page-server` takes a dump's pagemaps and pages over TCP into its
# own images dir while `cryo dump --page-server` writes the rest locally;
# put together, the images restore. Also through RPC (PAGE_SERVER, then a
# DUMP with ps{address, port}), and a dump whose page server is not there
# fails before touching the tree.
. "$(dirname "$0")/../lib/common.sh"
prog=$build/integration/programs/mem_large
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
wait_file() { for _ in $(seq 1500); do [ -e "$1" ] && return 0; sleep 0.01; done; return 1; }
wait_gone() { for _ in $(seq 1500); do alive "$1" || return 0; sleep 0.01; done; return 1; }
w=$(mktemp -d /tmp/cryo-ps.XXXXXX)
pids=()
trap 'for p in "${pids[@]}"; do kill -9 "$p" 2>/dev/null; done; rm -rf "$w"' EXIT

start_prog() {  # dir
  mkdir -p "$1/run" "$1/img" "$1/srv"
  local pid
  pid=$(cd "$1/run" && CRYO_PROG_DIR=$1/run "$spawn" -o "$1/out" "$prog")
  pids+=("$pid")
  wait_file "$1/run/ready" || return 1
  echo "$pid"
}
# Restores DIR/img with the server's images beside the local ones; the
# program checks its memory.
restore_and_check() {  # name dir pid
  local name=$1 d=$2 pid=$3
  wait_gone "$pid" || { echo "FAIL $name: the dump left the program running"; return 1; }
  ls "$d/img"/pagemap-*.img >/dev/null 2>&1 && { echo "FAIL $name: pagemaps were written locally"; return 1; }
  for f in "$d/srv"/pagemap-*.img; do
    crit decode -i "$f" >/dev/null 2>&1 || { echo "FAIL $name: crit cannot decode $(basename "$f")"; return 1; }
  done
  cp "$d/srv"/*.img "$d/img/"
  "$cryo" restore -D "$d/img" -d -o restore.log --pidfile "$d/rpid" >"$d/restore.out" 2>&1 ||
    { echo "FAIL $name: restore: $(tail -n2 "$d/restore.out")"; return 1; }
  pids+=("$(cat "$d/rpid")")
  touch "$d/run/go"
  wait_file "$d/run/result" || { echo "FAIL $name: no verdict"; return 1; }
  local v; v=$(head -n1 "$d/run/result")
  [ "$v" = PASS ] || { echo "FAIL $name: $v"; return 1; }
  echo "PASS $name"
}

# 1. The command line: a detached page server on a port it picks.
d=$w/cli
if pid=$(start_prog "$d"); then
  out=$("$cryo" page-server -D "$d/srv" --port 0 -d --pidfile "$d/ps.pid" -o ps.log -v4 2>&1)
  port=${out#port }
  pids+=("$(cat "$d/ps.pid" 2>/dev/null)")
  if [[ $port =~ ^[0-9]+$ ]] &&
    "$cryo" dump -t "$pid" -D "$d/img" --page-server --address 127.0.0.1 --port "$port" -o dump.log >"$d/dump.out" 2>&1; then
    grep -q "pages received" "$d/srv/ps.log" || echo "FAIL page-server-log: $(tail -n2 "$d/srv/ps.log")"
    restore_and_check page-server-dump-restore "$d" "$pid"
  else
    echo "FAIL page-server-dump-restore: $out $(tail -n2 "$d/dump.out" 2>/dev/null)"
  fi
else
  echo "FAIL page-server-dump-restore: the program never became ready"
fi

# 2. No page server on that port: one line, the program runs on.
d=$w/none
if pid=$(start_prog "$d"); then
  free=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
  out=$("$cryo" dump -t "$pid" -D "$d/img" --page-server --address 127.0.0.1 --port "$free" 2>&1)
  rc=$?
  if [ $rc -ne 0 ] && [ "$(printf '%s\n' "$out" | wc -l)" = 1 ] && [[ $out == *"page server"* ]] && alive "$pid" &&
    [ "$(awk '{print $3}' "/proc/$pid/stat")" != t ]; then
    echo "PASS page-server-absent"
  else
    echo "FAIL page-server-absent: rc=$rc $out"
  fi
  kill -9 "$pid"
fi

# 3. RPC: PAGE_SERVER answers its pid and port; a DUMP with ps{} sends to it.
if /usr/bin/python3 -c 'import pycriu.rpc_pb2' 2>/dev/null; then
  d=$w/rpc
  if pid=$(start_prog "$d"); then
    r=$(CRYO=$cryo /usr/bin/python3 "$here/../rpc/client.py" page-server --images "$d/srv" --log ps.log)
    port=$(/usr/bin/python3 -c 'import json,sys; d=json.loads(sys.argv[1]); print(d["final"]["ps"]["port"] if d["final"]["success"] else "")' "$r" 2>/dev/null)
    spid=$(/usr/bin/python3 -c 'import json,sys; print(json.loads(sys.argv[1])["final"]["ps"]["pid"])' "$r" 2>/dev/null)
    [ -n "$spid" ] && pids+=("$spid")
    if [ -n "$port" ] && [ "$port" -gt 0 ]; then
      r=$(CRYO=$cryo /usr/bin/python3 "$here/../rpc/client.py" dump --images "$d/img" --pid "$pid" --ps-port "$port" --log dump.log)
      if /usr/bin/python3 -c 'import json,sys; d=json.loads(sys.argv[1]); sys.exit(0 if d["final"]["success"] else 1)' "$r"; then
        restore_and_check page-server-rpc "$d" "$pid"
      else
        echo "FAIL page-server-rpc: dump: $r"
      fi
    else
      echo "FAIL page-server-rpc: PAGE_SERVER: $r"
    fi
  fi
else
  echo "SKIP page-server-rpc: Debian's python3-pycriu is not installed (hack/setup.sh installs it)"
fi
