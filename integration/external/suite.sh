#!/usr/bin/env bash
# Files whose other end is outside the dumped tree: a pipe the tree writes
# into and a process outside reads. Restored with --inherit-fd
# fd[N]:pipe:[INO], the tree gets the very pipe the restorer was given and
# the reader outside sees the output carry on.
. "$(dirname "$0")/../lib/common.sh"
counter=$build/integration/counter
w=$(mktemp -d /tmp/cryo-external.XXXXXX)
pids=()
cleanup() { for p in "${pids[@]}"; do kill -9 "$p" 2>/dev/null; done; rm -rf "$w"; }
trap cleanup EXIT

# The reader: a cat outside the tree, fed through a pipe this shell holds.
mkdir -p "$w/img" "$w/img2"
exec {wfd}> >(exec cat >"$w/out")
pids+=("$!")
ino=$(stat -L -c %i /proc/$$/fd/"$wfd")
pid=$("$spawn" -o /proc/$$/fd/"$wfd" "$counter")
pids+=("$pid")
for _ in $(seq 200); do [ "$(wc -l <"$w/out")" -ge 3 ] && break; sleep 0.02; done
"$cryo" dump -t "$pid" -D "$w/img" 2>"$w/err"; rc=$?
for _ in $(seq 300); do [ -e /proc/"$pid" ] || break; sleep 0.01; done
last=$(tail -n1 "$w/out")
"$cryo" restore -D "$w/img" -d --inherit-fd "fd[9]:pipe:[$ino]" 9>&"$wfd" 2>>"$w/err"; rrc=$?
for _ in $(seq 200); do [ "$(tail -n1 "$w/out")" -gt $((last + 2)) ] 2>/dev/null && break; sleep 0.02; done
now=$(tail -n1 "$w/out")
# The numbers carry on with none missing or repeated, through the same pipe.
if [ $rc -eq 0 ] && [ $rrc -eq 0 ] && [ "$now" -gt $((last + 2)) ] 2>/dev/null &&
  [ "$(stat -L -c %i /proc/"$pid"/fd/1)" = "$ino" ] &&
  awk 'NR > 1 && $1 != prev + 1 { bad = 1 } { prev = $1 } END { exit bad }' "$w/out"; then
  echo "PASS inherit-fd-pipe"
else
  echo "FAIL inherit-fd-pipe: rc=$rc rrc=$rrc last=$last now=$now $(tr '\n' ' ' <"$w/err")"
fi

# A key no file of the dump has is an error, and nothing is restored.
"$cryo" dump -t "$pid" -D "$w/img2" 2>"$w/err2"; rc=$?
for _ in $(seq 300); do [ -e /proc/"$pid" ] || break; sleep 0.01; done
"$cryo" restore -D "$w/img2" -d --inherit-fd "fd[9]:pipe:[1]" 9>&"$wfd" 2>"$w/rerr"; rrc=$?
if [ $rc -eq 0 ] && [ $rrc -ne 0 ] && [ "$(wc -l <"$w/rerr")" -eq 1 ] && grep -q "no such pipe" "$w/rerr" &&
  [ ! -e /proc/"$pid" ]; then
  echo "PASS inherit-fd-unknown-key"
else
  echo "FAIL inherit-fd-unknown-key: rc=$rc rrc=$rrc $(cat "$w/err2" "$w/rerr")"
fi

# A stream socket whose peer is outside the tree: dumped with --ext-unix-sk,
# handed back with --inherit-fd fd[N]:socket:[INO] (the same socket, which
# its other holder kept); refused on restore without it. The outside end is held by a python3 script that also runs
# cryo, so it can pass its socket down.
cat >"$w/sock.py" <<'PY'
import os, socket, subprocess, sys, time
cryo, counter, d = sys.argv[1:4]
ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
os.set_inheritable(theirs.fileno(), True)
# As spawn would (a socket cannot be opened by path): own session, no
# other fds, stdin from /dev/null.
child = subprocess.Popen([counter], stdin=subprocess.DEVNULL, stdout=theirs.fileno(), stderr=subprocess.DEVNULL,
                         start_new_session=True, close_fds=True)
pid = child.pid
ino = os.fstat(theirs.fileno()).st_ino
# Kept: after the dump it is the socket the restore is handed, still
# connected to ours.
ours.settimeout(5)
def lines(n):
    buf = b""
    while buf.count(b"\n") < n:
        buf += ours.recv(4096)
    return [int(x) for x in buf.split()]
before = lines(3)
dump = subprocess.run([cryo, "dump", "-t", str(pid), "-D", d, "--ext-unix-sk"], capture_output=True, text=True)
if dump.returncode != 0:
    print("FAIL inherit-fd-socket: dump: " + dump.stderr.strip()); sys.exit(0)
child.wait()
try:
    rest = ours.recv(65536, socket.MSG_DONTWAIT)
except (BlockingIOError, TimeoutError):
    rest = b""
before += [int(x) for x in rest.split()]
last = before[-1]
bad = subprocess.run([cryo, "restore", "-D", d, "-d"], capture_output=True, text=True)
if bad.returncode == 0 or "--inherit-fd" not in bad.stderr or os.path.exists("/proc/%d" % pid):
    print("FAIL inherit-fd-socket-needed: rc=%d %s" % (bad.returncode, bad.stderr.strip()))
else:
    print("PASS inherit-fd-socket-needed")
dup = os.dup(theirs.fileno())
os.set_inheritable(dup, True)
ok = subprocess.run([cryo, "restore", "-D", d, "-d", "--inherit-fd", "fd[%d]:socket:[%d]" % (dup, ino)],
                    pass_fds=[dup], capture_output=True, text=True)
os.close(dup)
if ok.returncode != 0:
    print("FAIL inherit-fd-socket: restore: " + ok.stderr.strip()); sys.exit(0)
after = lines(3)
os.kill(pid, 9)
if after[0] == last + 1 and all(b == a + 1 for a, b in zip(after, after[1:])):
    print("PASS inherit-fd-socket")
else:
    print("FAIL inherit-fd-socket: before %s last %d after %s" % (before, last, after))
PY
mkdir -p "$w/sock-img"
/usr/bin/python3 "$w/sock.py" "$cryo" "$counter" "$w/sock-img"
