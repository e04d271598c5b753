#!/usr/bin/env bash
# A tree whose child holds an fd of a kind cryo cannot dump (an io_uring
# instance from the raw io_uring_setup syscall; a fanotify group; /dev/kvm,
# a device cryo does not know to open again): the dump
# fails with one line naming the child's pid, the fd and the kind, writes
# no inventory.img, and leaves the whole tree as it was: every process
# alive, not stopped (state S or R, never T, t or Z), still making
# progress, with the same fds and memory map.
# The tree is perl (perl-base is essential in Debian): the root forks the
# child, the child opens the fd and writes "PID FD" to a file, then both
# append a line to a heartbeat file every 20 ms.
# Runs on its own (needs CRYO_BUILD, like suite.sh) or from suite.sh.
. "$(dirname "$0")/../lib/common.sh"
w=$(mktemp -d /tmp/cryo-failures-fd.XXXXXX)
pids=()
cleanup() { for p in "${pids[@]}"; do kill -9 "$p" 2>/dev/null; done; rm -rf "$w"; }
trap cleanup EXIT

state() { awk '{print $3}' /proc/"$1"/stat 2>/dev/null; }
one_line() { [ "$(wc -l <"$1")" -eq 1 ]; }
lines() { wc -l <"$1" 2>/dev/null || echo 0; }
fds_of() { ls -l /proc/"$1"/fd | awk '{print $9, $10, $11}'; }

# ARGV: dir kind (io_uring | fanotify | kvm).
tree='
use strict;
my ($dir, $kind) = @ARGV;
sub beat {
  my $name = shift;
  open(my $h, ">>", "$dir/beat-$name") or die "beat: $!";
  select((select($h), $| = 1)[0]);
  while (1) { print $h "x\n"; select(undef, undef, undef, 0.02); }
}
my $pid = fork() // die "fork: $!";
if ($pid == 0) {
  my ($fd, $dev);
  if ($kind eq "kvm") {
    open($dev, "+<", "/dev/kvm") or die "open /dev/kvm: $!";  # a device cryo does not know
    $fd = fileno($dev);
  } elsif ($kind eq "io_uring") {
    my $params = "\0" x 120;            # struct io_uring_params
    $fd = syscall(425, 4, $params);     # io_uring_setup(4 entries)
    die "io_uring_setup: $!" if $fd < 0;
  } else {
    $fd = syscall(300, 0, 0);           # fanotify_init(FAN_CLASS_NOTIF, O_RDONLY)
    die "fanotify_init: $!" if $fd < 0;
  }
  open(my $f, ">", "$dir/child.tmp") or die; print $f "$$ $fd\n"; close $f;
  rename("$dir/child.tmp", "$dir/child") or die;
  beat("child");
}
beat("root");
'

for kind in io_uring fanotify kvm; do
  name=dump-refuses-$kind-in-tree
  d=$w/$kind; mkdir -p "$d/img"
  root=$("$spawn" -o "$d/out" /usr/bin/perl -e "$tree" "$d" "$kind")
  pids+=("$root")
  for _ in $(seq 200); do [ -s "$d/child" ] && [ -s "$d/beat-root" ] && [ -s "$d/beat-child" ] && break; sleep 0.01; done
  read -r child fd <"$d/child" 2>/dev/null || { echo "FAIL $name: the tree did not start: $(tail -c 300 "$d/out")"; continue; }
  pids+=("$child")
  before_maps="$(cat /proc/"$root"/maps)$(cat /proc/"$child"/maps)"
  before_fds="$(fds_of "$root")$(fds_of "$child")"
  "$cryo" dump -t "$root" -D "$d/img" 2>"$d/err"; rc=$?
  sleep 0.1
  b1r=$(lines "$d/beat-root") b1c=$(lines "$d/beat-child")
  sleep 0.5
  b2r=$(lines "$d/beat-root") b2c=$(lines "$d/beat-child")
  sr=$(state "$root") sc=$(state "$child")
  if [ $rc -eq 0 ]; then echo "FAIL $name: dump succeeded"
  elif ! one_line "$d/err"; then echo "FAIL $name: error is not one line: $(cat "$d/err")"
  elif ! grep -q "pid $child fd $fd\b" "$d/err" || ! grep -qi "$kind" "$d/err"; then
    echo "FAIL $name: the error does not name pid $child, fd $fd and $kind: $(cat "$d/err")"
  elif ! alive "$root" || ! alive "$child"; then echo "FAIL $name: a process of the tree is gone: $(cat "$d/err")"
  elif [[ $sr != [SR] || $sc != [SR] ]]; then echo "FAIL $name: left in state root '$sr' child '$sc', want S or R"
  elif [ "$b2r" -le "$b1r" ] || [ "$b2c" -le "$b1c" ]; then
    echo "FAIL $name: the tree stopped running (heartbeats root $b1r -> $b2r, child $b1c -> $b2c)"
  elif [ "$before_maps" != "$(cat /proc/"$root"/maps)$(cat /proc/"$child"/maps)" ]; then echo "FAIL $name: memory map changed"
  elif [ "$before_fds" != "$(fds_of "$root")$(fds_of "$child")" ]; then echo "FAIL $name: fds changed"
  elif [ -e "$d/img/inventory.img" ]; then echo "FAIL $name: an inventory marks the failed dump complete"
  else echo "PASS $name"; fi
  kill -9 "$root" "$child" 2>/dev/null
done
