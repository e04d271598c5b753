#!/usr/bin/env bash
# Nothing lost: a dump that fails at any step leaves the process running as
# it was; a restore that fails leaves no process behind and the images as
# they were; bad input gets one clear line and a non-zero exit.
. "$(dirname "$0")/../lib/common.sh"
counter=$build/integration/counter
w=$(mktemp -d /tmp/cryo-failures.XXXXXX)
# Started pids go to a file: helpers run in $(...) subshells.
track() { echo "$1" >>"$w/pids"; }
cleanup() { while read -r p; do kill -9 "$p" 2>/dev/null; done <"$w/pids" 2>/dev/null; rm -rf "$w"; }
trap cleanup EXIT

wait_gone() { for _ in $(seq 200); do alive "$1" || return 0; sleep 0.01; done; return 1; }
one_line() { [ "$(wc -l <"$1")" -eq 1 ]; }

start_counter() {  # dir
  local pid
  pid=$("$spawn" -o "$1/out" "$counter")
  track "$pid"
  for _ in $(seq 100); do [ -s "$1/out" ] && break; sleep 0.01; done
  echo "$pid"
}

for step in task memory files inventory; do
  d=$w/dump-$step; mkdir -p "$d/img"
  pid=$(start_counter "$d")
  maps=$(cat /proc/"$pid"/maps); fds=$(ls -l /proc/"$pid"/fd | awk '{print $9, $10, $11}')
  CRYO_FAULT=$step "$cryo" dump -t "$pid" -D "$d/img" 2>"$d/err"; rc=$?
  before=$(wc -l <"$d/out"); sleep 0.5; after=$(wc -l <"$d/out")
  if [ $rc -eq 0 ]; then echo "FAIL dump-fault-$step: dump succeeded"
  elif ! one_line "$d/err" || ! grep -q "injected fault at $step" "$d/err"; then echo "FAIL dump-fault-$step: error was: $(cat "$d/err")"
  elif ! alive "$pid" || [ "$after" -le "$before" ]; then echo "FAIL dump-fault-$step: the process stopped running"
  elif [ "$maps" != "$(cat /proc/"$pid"/maps)" ]; then echo "FAIL dump-fault-$step: memory map changed"
  elif [ "$fds" != "$(ls -l /proc/"$pid"/fd | awk '{print $9, $10, $11}')" ]; then echo "FAIL dump-fault-$step: fds changed"
  elif [ -e "$d/img/inventory.img" ]; then echo "FAIL dump-fault-$step: an inventory marks the failed dump complete"
  else echo "PASS dump-fault-$step"; fi
  kill -9 "$pid"
done

# A pid that does not exist.
"$cryo" dump -t 99999 -D "$w" 2>"$w/err"; rc=$?
if [ $rc -ne 0 ] && one_line "$w/err" && grep -q "99999" "$w/err"; then echo "PASS dump-no-such-pid"
else echo "FAIL dump-no-such-pid: rc=$rc $(cat "$w/err")"; fi

# Restore while the pid is still taken (dumped with --leave-running).
d=$w/taken; mkdir -p "$d/img"
pid=$(start_counter "$d")
if "$cryo" dump -t "$pid" -D "$d/img" --leave-running 2>"$d/err"; then
  "$cryo" restore -D "$d/img" -d 2>"$d/err"; rc=$?
  if [ $rc -ne 0 ] && one_line "$d/err" && grep -q "pid $pid is already taken" "$d/err" && alive "$pid"; then
    echo "PASS restore-pid-taken"
  else echo "FAIL restore-pid-taken: rc=$rc $(cat "$d/err")"; fi
else echo "FAIL restore-pid-taken: dump failed: $(cat "$d/err")"; fi
kill -9 "$pid"; wait_gone "$pid"

# A restore that fails midway kills what it made and touches no image.
for step in restore-memory restore-files; do
  d=$w/$step; mkdir -p "$d/img"
  pid=$(start_counter "$d")
  if ! "$cryo" dump -t "$pid" -D "$d/img" 2>"$d/err"; then echo "FAIL $step: dump failed: $(cat "$d/err")"; continue; fi
  wait_gone "$pid"
  sums=$(cd "$d/img" && md5sum ./*.img)
  CRYO_FAULT=$step "$cryo" restore -D "$d/img" -d 2>"$d/err"; rc=$?
  sleep 0.1
  if [ $rc -eq 0 ]; then echo "FAIL $step: restore succeeded"; kill -9 "$pid"
  elif alive "$pid"; then echo "FAIL $step: pid $pid is alive after the failed restore"; kill -9 "$pid"
  elif [ "$sums" != "$(cd "$d/img" && md5sum ./*.img)" ]; then echo "FAIL $step: images changed"
  elif ! one_line "$d/err"; then echo "FAIL $step: error was: $(cat "$d/err")"
  else
    # And the same images restore fine afterwards.
    if "$cryo" restore -D "$d/img" -d 2>"$d/err" && alive "$pid"; then echo "PASS $step"
    else echo "FAIL $step: the images did not restore afterwards: $(cat "$d/err")"; fi
    kill -9 "$pid"
  fi
done

# Corrupt images: one clear line.
d=$w/corrupt; mkdir -p "$d/img"
pid=$(start_counter "$d")
"$cryo" dump -t "$pid" -D "$d/img" 2>/dev/null; wait_gone "$pid"
head -c 20 "$d/img/core-$pid.img" >"$d/core" && mv "$d/core" "$d/img/core-$pid.img"
"$cryo" restore -D "$d/img" -d 2>"$d/err"; rc=$?
if [ $rc -ne 0 ] && one_line "$d/err" && grep -q "core-$pid.img: truncated" "$d/err" && ! alive "$pid"; then
  echo "PASS restore-corrupt-core"
else echo "FAIL restore-corrupt-core: rc=$rc $(cat "$d/err")"; fi
"$cryo" restore -D "$w/nonexistent" 2>"$w/err"; rc=$?
if [ $rc -ne 0 ] && one_line "$w/err"; then echo "PASS restore-no-images"; else echo "FAIL restore-no-images: $(cat "$w/err")"; fi

# An unlinked file over --ghost-limit stops the dump; the program is intact.
d=$w/ghost; mkdir -p "$d/run" "$d/img"
pid=$(cd "$d/run" && CRYO_PROG_DIR=$d/run "$spawn" -o "$d/out" "$build/integration/programs/file_unlinked")
track "$pid"
for _ in $(seq 200); do [ -e "$d/run/ready" ] && break; sleep 0.01; done
"$cryo" dump -t "$pid" -D "$d/img" --ghost-limit 1K 2>"$d/err"; rc=$?
touch "$d/run/go"
for _ in $(seq 200); do [ -e "$d/run/result" ] && break; sleep 0.01; done
if [ $rc -ne 0 ] && one_line "$d/err" && grep -q "over the ghost limit" "$d/err" && [ "$(cat "$d/run/result" 2>/dev/null)" = PASS ]; then
  echo "PASS dump-ghost-limit"
else
  echo "FAIL dump-ghost-limit: rc=$rc $(cat "$d/err") result=$(cat "$d/run/result" 2>/dev/null)"
fi

# Unlinked files a restore could not bring back as they were: one kept
# append-only (chattr +a, set through the fd after the unlink), one whose
# name is gone while another link remains (without --link-remap). The
# dump stops with one line naming it; the process goes on writing.
held='
my ($dir, $kind) = @ARGV;
open(my $f, "+>", "$dir/held") or die "open: $!";
if ($kind eq "append") {
  unlink("$dir/held") or die "unlink: $!";
  my $flags = pack("l", 0x20);  # FS_APPEND_FL
  ioctl($f, 0x40086602, $flags) or die "FS_IOC_SETFLAGS: $!";
} else {
  link("$dir/held", "$dir/other") or die "link: $!";
  unlink("$dir/held") or die "unlink: $!";
}
$| = 1;
while (1) { print "beat\n"; select(undef, undef, undef, 0.02); }
'
for kind in append linked; do
  d=$w/held-$kind; mkdir -p "$d/img"
  pid=$("$spawn" -o "$d/out" /usr/bin/perl -e "$held" "$d" "$kind")
  track "$pid"
  for _ in $(seq 200); do [ -s "$d/out" ] && break; sleep 0.01; done
  fds=$(ls -l /proc/"$pid"/fd | awk '{print $9, $10, $11}')
  "$cryo" dump -t "$pid" -D "$d/img" 2>"$d/err"; rc=$?
  before=$(wc -l <"$d/out"); sleep 0.3; after=$(wc -l <"$d/out")
  want=$([ $kind = append ] && echo "is append-only (chattr)" || echo "dump with --link-remap")
  if [ $rc -ne 0 ] && one_line "$d/err" && grep -q "pid $pid fd" "$d/err" && grep -qF "$want" "$d/err" &&
     alive "$pid" && [ "$after" -gt "$before" ] && [ "$fds" = "$(ls -l /proc/"$pid"/fd | awk '{print $9, $10, $11}')" ] &&
     [ ! -e "$d/img/inventory.img" ]; then
    echo "PASS dump-refuses-unlinked-$kind"
  else
    echo "FAIL dump-refuses-unlinked-$kind: rc=$rc $(cat "$d/err")"
  fi
  kill -9 "$pid"
done

# A dump with --link-remap that fails after making its link takes the link
# away again; one that succeeds leaves it for the restore.
d=$w/held-remap; mkdir -p "$d/img"
pid=$("$spawn" -o "$d/out" /usr/bin/perl -e "$held" "$d" linked)
track "$pid"
for _ in $(seq 200); do [ -s "$d/out" ] && break; sleep 0.01; done
CRYO_FAULT=inventory "$cryo" dump -t "$pid" -D "$d/img" --link-remap -R 2>"$d/err"; rc=$?
left=$(ls "$d" | grep -c link_remap)
"$cryo" dump -t "$pid" -D "$d/img" --link-remap -R 2>>"$d/err"; rc2=$?
kept=$(ls "$d" | grep -c link_remap)
if [ $rc -ne 0 ] && [ "$left" = 0 ] && [ $rc2 -eq 0 ] && [ "$kept" = 1 ] && alive "$pid"; then
  echo "PASS dump-link-remap-undone-on-failure"
else
  echo "FAIL dump-link-remap-undone-on-failure: rc=$rc left=$left rc2=$rc2 kept=$kept $(cat "$d/err")"
fi
kill -9 "$pid"

# Lifecycle: a stopped process comes back stopped; --leave-stopped and
# --leave-running leave it so; restore without -d waits for the task.
state() { awk '{print $3}' /proc/"$1"/stat 2>/dev/null; }
d=$w/stopped; mkdir -p "$d/img"
pid=$(start_counter "$d")
kill -STOP "$pid"; sleep 0.1
if "$cryo" dump -t "$pid" -D "$d/img" 2>"$d/err" && wait_gone "$pid" &&
   "$cryo" restore -D "$d/img" -d 2>>"$d/err" && sleep 0.2 && [ "$(state "$pid")" = T ]; then
  n1=$(wc -l <"$d/out"); sleep 0.5; n2=$(wc -l <"$d/out")
  kill -CONT "$pid"; sleep 0.6; n3=$(wc -l <"$d/out")
  if [ "$n1" = "$n2" ] && [ "$n3" -gt "$n2" ]; then echo "PASS stopped-stays-stopped"
  else echo "FAIL stopped-stays-stopped: counts $n1 $n2 $n3"; fi
else echo "FAIL stopped-stays-stopped: state $(state "$pid") $(cat "$d/err")"; fi
kill -9 "$pid" 2>/dev/null; wait_gone "$pid"

d=$w/leave; mkdir -p "$d/img" "$d/img2"
pid=$(start_counter "$d")
if "$cryo" dump -t "$pid" -D "$d/img" --leave-stopped 2>"$d/err" && sleep 0.1 && [ "$(state "$pid")" = T ]; then
  kill -CONT "$pid"
  if "$cryo" dump -t "$pid" -D "$d/img2" --leave-running 2>"$d/err" && sleep 0.2 && alive "$pid" &&
     [ "$(state "$pid")" != T ]; then echo "PASS leave-stopped-and-running"
  else echo "FAIL leave-stopped-and-running: --leave-running: state $(state "$pid") $(cat "$d/err")"; fi
else echo "FAIL leave-stopped-and-running: --leave-stopped: state $(state "$pid") $(cat "$d/err")"; fi
kill -9 "$pid"; wait_gone "$pid"

# Without -d, restore stays the parent and ends with the task's status.
d=$w/wait; mkdir -p "$d/run" "$d/img"
pid=$(cd "$d/run" && CRYO_PROG_DIR=$d/run "$spawn" -o "$d/out" "$build/integration/programs/sleeper")
track "$pid"
for _ in $(seq 200); do [ -e "$d/run/ready" ] && break; sleep 0.01; done
"$cryo" dump -t "$pid" -D "$d/img" 2>"$d/err" && wait_gone "$pid"
( sleep 0.5; touch "$d/run/go" ) &
"$cryo" restore -D "$d/img" 2>>"$d/err"; rc=$?
if [ $rc -eq 0 ] && [ "$(cat "$d/run/result" 2>/dev/null)" = PASS ]; then echo "PASS restore-waits-for-task"
else echo "FAIL restore-waits-for-task: rc=$rc $(cat "$d/err")"; fi

# TCP connections: without --tcp-established the dump stops naming the
# connection; with it, a dump that fails after they went into repair mode
# (and were locked) gives them back as they were. Either way the
# program's connections carry on (it checks their data when told to go)
# and no lock is left.
for c in needs-flag:none fault:inventory; do
  name=${c%%:*} fault=${c#*:}
  d=$w/tcp-$name; mkdir -p "$d/run" "$d/img"
  pid=$(cd "$d/run" && CRYO_PROG_DIR=$d/run "$spawn" -o "$d/out" "$build/integration/programs/tcp_established")
  track "$pid"
  for _ in $(seq 300); do [ -e "$d/run/ready" ] && break; sleep 0.01; done
  if [ "$fault" = none ]; then
    "$cryo" dump -t "$pid" -D "$d/img" 2>"$d/err"; rc=$?; want="dump with --tcp-established"
  else
    CRYO_FAULT=$fault "$cryo" dump -t "$pid" -D "$d/img" --tcp-established 2>"$d/err"; rc=$?; want="injected fault at $fault"
  fi
  touch "$d/run/go"
  for _ in $(seq 500); do [ -e "$d/run/result" ] && break; sleep 0.01; done
  if [ $rc -ne 0 ] && one_line "$d/err" && grep -q -- "$want" "$d/err" && [ "$(cat "$d/run/result" 2>/dev/null)" = PASS ] &&
     ! nft list tables 2>/dev/null | grep -q cryo-lock; then
    echo "PASS dump-tcp-$name"
  else
    echo "FAIL dump-tcp-$name: rc=$rc $(cat "$d/err") result=$(cat "$d/run/result" 2>/dev/null) $(nft list tables 2>/dev/null | grep cryo-lock)"
  fi
  kill -9 "$pid" 2>/dev/null; wait_gone "$pid"
done

# A POSIX message queue the tree asked a notification of (mq_notify):
# the dump stops saying so, and the program's queues and descriptors are
# as they were (it checks them when told to go).
d=$w/mq-notify; mkdir -p "$d/run" "$d/img"
pid=$(cd "$d/run" && MQ_NOTIFY=1 CRYO_PROG_DIR=$d/run "$spawn" -o "$d/out" "$build/integration/programs/ipc_posix_mq")
track "$pid"
for _ in $(seq 300); do [ -e "$d/run/ready" ] && break; sleep 0.01; done
"$cryo" dump -t "$pid" -D "$d/img" 2>"$d/err"; rc=$?
touch "$d/run/go"
for _ in $(seq 500); do [ -e "$d/run/result" ] && break; sleep 0.01; done
if [ $rc -ne 0 ] && one_line "$d/err" && grep -q "mq_notify" "$d/err" && [ "$(cat "$d/run/result" 2>/dev/null)" = PASS ] &&
   [ ! -e "$d/img/inventory.img" ]; then
  echo "PASS dump-mq-notify"
else
  echo "FAIL dump-mq-notify: rc=$rc $(cat "$d/err") result=$(cat "$d/run/result" 2>/dev/null)"
fi
kill -9 "$pid" 2>/dev/null; wait_gone "$pid"

# What this build cannot restore stops the dump with one line naming the
# pid, fd and kind, and the whole tree goes on: unsupported_fd_tree.sh
# (run at the end) holds those cases.

# A restore that fails half way through a tree (a child's pid is taken)
# leaves nothing behind: the dumped tree's child is kept alive, its parent
# is not. (The child leads its own session: as a member of its parent's,
# it would keep the parent's pid in use as its session id.)
d=$w/tree-taken; mkdir -p "$d/img"
pid=$("$spawn" -o "$d/out" /bin/sh -c '/usr/bin/setsid /bin/sleep 100 & wait')
track "$pid"
for _ in $(seq 100); do [ -n "$(cat /proc/"$pid"/task/"$pid"/children 2>/dev/null)" ] && break; sleep 0.01; done
child=$(cat /proc/"$pid"/task/"$pid"/children 2>/dev/null); child=${child%% *}
[ -n "$child" ] && track "$child"
"$cryo" dump -t "$pid" -D "$d/img" --leave-running 2>"$d/err"; rc=$?
kill -9 "$pid"
for _ in $(seq 300); do [ -e /proc/"$pid" ] || break; sleep 0.01; done
"$cryo" restore -D "$d/img" -d 2>"$d/rerr"; rrc=$?
sleep 0.2
if [ $rc -eq 0 ] && [ $rrc -ne 0 ] && one_line "$d/rerr" && grep -q "pid $child is already taken" "$d/rerr" && ! alive "$pid" &&
  alive "$child"; then
  echo "PASS restore-tree-pid-taken-leaves-nothing"
else echo "FAIL restore-tree-pid-taken-leaves-nothing: rc=$rc rrc=$rrc root $pid alive: $(alive "$pid" && echo yes) child $child $(cat "$d/err" "$d/rerr")"; fi
kill -9 "$pid" "$child" 2>/dev/null

# A mount namespace copied from the host's: its mounts come from outside
# the tree; without a name for them (--external, --ext-mount-map auto)
# the dump stops on the first, naming both ways, and the tree runs on.
d=$w/ns; mkdir -p "$d"
pid=$("$spawn" -o "$d/out" /usr/bin/unshare --mount /bin/sleep 100)
track "$pid"
for _ in $(seq 100); do [ "$(readlink /proc/"$pid"/exe)" = /usr/bin/sleep ] && break; sleep 0.01; done
"$cryo" dump -t "$pid" -D "$d" 2>"$d/err"; rc=$?
if [ $rc -ne 0 ] && one_line "$d/err" && grep -q "comes from outside the tree's mount namespace" "$d/err" &&
  grep -q -- "--ext-mount-map auto" "$d/err" && alive "$pid" && [ ! -e "$d/inventory.img" ]; then
  echo "PASS dump-refuses-foreign-mounts"
else echo "FAIL dump-refuses-foreign-mounts: rc=$rc $(cat "$d/err")"; fi
kill -9 "$pid" 2>/dev/null

# A user namespace of its own is dumped, but not one nested two levels
# below cryo's: said in one line, the tree runs on.
d=$w/userns; mkdir -p "$d"
pid=$("$spawn" -o "$d/out" /usr/bin/unshare --user --map-root-user /usr/bin/unshare --user --map-root-user /bin/sleep 100)
track "$pid"
for _ in $(seq 100); do [ "$(readlink /proc/"$pid"/exe)" = /usr/bin/sleep ] && break; sleep 0.01; done
"$cryo" dump -t "$pid" -D "$d" 2>"$d/err"; rc=$?
if [ $rc -ne 0 ] && one_line "$d/err" && grep -q "user namespace nested more than one level" "$d/err" && alive "$pid"; then
  echo "PASS dump-refuses-namespace"
else echo "FAIL dump-refuses-namespace: rc=$rc $(cat "$d/err")"; fi
kill -9 "$pid" 2>/dev/null

# A listening unix socket holding a connection whose client has closed
# (CRIU refuses it too): the restored listener would not have it, and
# accept() would wait for ever. Refused in one line; the process runs on,
# and accept() still returns the connection.
d=$w/listen-closed; mkdir -p "$d/img"
pid=$("$spawn" -o "$d/out" /usr/bin/perl -e '
  use Socket;
  my $path = "$ARGV[0]/sk";
  socket(my $l, AF_UNIX, SOCK_STREAM, 0) or die; bind($l, pack_sockaddr_un($path)) or die; listen($l, 4) or die;
  socket(my $c, AF_UNIX, SOCK_STREAM, 0) or die; connect($c, pack_sockaddr_un($path)) or die; close($c);
  open(my $r, ">", "$ARGV[0]/ready") or die; close($r);
  while (!-e "$ARGV[0]/go") { select(undef, undef, undef, 0.01); }
  accept(my $a, $l) or die "accept: $!";
  open(my $o, ">", "$ARGV[0]/accepted") or die; close($o);
  sleep 100;' "$d")
track "$pid"
for _ in $(seq 300); do [ -e "$d/ready" ] && break; sleep 0.01; done
"$cryo" dump -t "$pid" -D "$d/img" 2>"$d/err"; rc=$?
touch "$d/go"
for _ in $(seq 300); do [ -e "$d/accepted" ] && break; sleep 0.01; done
if [ $rc -ne 0 ] && one_line "$d/err" && grep -q "connection not accepted yet whose client is closed" "$d/err" &&
  alive "$pid" && [ -e "$d/accepted" ] && [ ! -e "$d/img/inventory.img" ]; then
  echo "PASS dump-refuses-listener-with-closed-client"
else echo "FAIL dump-refuses-listener-with-closed-client: rc=$rc accepted=$([ -e "$d/accepted" ] && echo yes || echo no) $(cat "$d/err")"; fi
kill -9 "$pid" 2>/dev/null

# A child in a user namespace of its own under a root in cryo's.
d=$w/userns-child; mkdir -p "$d"
pid=$("$spawn" -o "$d/out" /bin/sh -c '/usr/bin/unshare --user --map-root-user /bin/sleep 100 & wait')
track "$pid"
for _ in $(seq 200); do c=$(cat /proc/"$pid"/task/"$pid"/children 2>/dev/null); [ -n "$c" ] && [ "$(readlink /proc/$c/exe)" = /usr/bin/sleep ] && break; sleep 0.01; done
track "$c"
"$cryo" dump -t "$pid" -D "$d" 2>"$d/err"; rc=$?
if [ $rc -ne 0 ] && one_line "$d/err" && grep -q "another user namespace than the root" "$d/err" && alive "$pid" && alive "$c"; then
  echo "PASS dump-refuses-child-userns"
else echo "FAIL dump-refuses-child-userns: rc=$rc $(cat "$d/err")"; fi
kill -9 "$pid" "$c" 2>/dev/null

# A child in a UTS namespace of its own under a root in the host's: the
# tree's namespaces are the root's, so this one cannot be restored.
d=$w/ns-child; mkdir -p "$d"
pid=$("$spawn" -o "$d/out" /bin/sh -c '/usr/bin/unshare --uts /bin/sleep 100 & wait')
track "$pid"
for _ in $(seq 200); do c=$(cat /proc/"$pid"/task/"$pid"/children 2>/dev/null); [ -n "$c" ] && [ "$(readlink /proc/$c/exe)" = /usr/bin/sleep ] && break; sleep 0.01; done
track "$c"
"$cryo" dump -t "$pid" -D "$d" 2>"$d/err"; rc=$?
if [ $rc -ne 0 ] && one_line "$d/err" && grep -q "another uts namespace than the root" "$d/err" && alive "$pid" && alive "$c"; then
  echo "PASS dump-refuses-child-namespace"
else echo "FAIL dump-refuses-child-namespace: rc=$rc $(cat "$d/err")"; fi
kill -9 "$pid" "$c" 2>/dev/null
kill -9 "$pid" 2>/dev/null

bash "$(dirname "${BASH_SOURCE[0]}")/unsupported_fd_tree.sh"
