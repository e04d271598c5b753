#!/usr/bin/env bash
# cgroups: a process tree placed in cgroups of the v1 hierarchies and of
# cgroup2 (/sys/fs/cgroup/unified on this host), dumped and restored under
# each --manage-cgroups mode, with --cgroup-root, --cgroup-props and
# --cgroup-dump-controller; the freezer (v1 and v2) with a tree that keeps
# forking; a frozen (paused) tree checkpointed and restored frozen; and the
# errors: a frozen cgroup without --freeze-cgroup, a controller this host
# lacks, cgroups that must (not) exist. Membership of every thread and the
# limits are compared with what they were; the program checks its own
# memory and threads. Test cgroups live under this shell's own cgroups.
. "$(dirname "$0")/../lib/common.sh"
prog=$build/integration/cgroups/cg_tree
tag=cryo-cg-$$
top_w=$(mktemp -d /tmp/cryo-cgroups.XXXXXX)
started=()

for h in cpu memory pids freezer unified; do
  if [ ! -d /sys/fs/cgroup/$h ]; then
    echo "SKIP cgroups: this host has no /sys/fs/cgroup/$h (the suite needs the v1 cpu, memory, pids, freezer hierarchies and cgroup2 at /sys/fs/cgroup/unified)"
    exit 0
  fi
done

# The directory of test cgroup REL (a/b) in hierarchy H, under our own.
cg() {  # H REL
  local h=$1 name=$1 base
  [ "$h" = unified ] && name=""
  base=$(awk -F: -v n="$name" '$2 == n {print $3}' /proc/self/cgroup)
  [ "$base" = / ] && base=""
  echo "/sys/fs/cgroup/$h$base/$tag${2:+/$2}"
}
# Its path inside the hierarchy, as /proc/PID/cgroup shows it.
cgpath() { local d; d=$(cg "$1" "${2:-}"); echo "${d#/sys/fs/cgroup/$1}"; }
rm_cgroups() {
  local h
  for h in cpu memory pids freezer unified; do
    [ -d "$(cg "$h")" ] && find "$(cg "$h")" -depth -type d -exec rmdir {} \; 2>/dev/null
  done
  return 0
}
cleanup() {
  local p
  for p in "${started[@]}"; do kill -9 "$p" 2>/dev/null; done
  for f in "$(cg freezer)/freezer.state" "$(cg unified)/cgroup.freeze"; do [ -e "$f" ] && echo 0 >"$f" 2>/dev/null; done

  sleep 0.2
  rm_cgroups
  rm -rf "$top_w"
}
trap cleanup EXIT

wait_gone() { for _ in $(seq 500); do alive "$1" || return 0; sleep 0.01; done; return 1; }
wait_file() { for _ in $(seq 1500); do [ -e "$1" ] && return 0; sleep 0.01; done; return 1; }
one_line() { [ "$(wc -l <"$1")" -eq 1 ]; }

# Starts the tree in a fresh work dir $w; sets R (root pid), RT (its
# worker tid), C0, C0T, C1 (the forker), C1T.
start() {
  w=$top_w/$1; mkdir -p "$w/run" "$w/img"
  local pid
  pid=$(cd "$w/run" && CRYO_PROG_DIR=$w/run "$spawn" -o "$w/out" "$prog")
  started+=("$pid")
  wait_file "$w/run/ready" || { echo "never ready: $(cat "$w/run/result" "$w/out" 2>/dev/null)"; return 1; }
  read -r _ R RT <"$w/run/ids-root"
  read -r _ C0 C0T <"$w/run/ids-c0"
  read -r _ C1 C1T <"$w/run/ids-c1"
  [ "$R" = "$pid" ]
}
# The layout: the root and the forker in T, the root's worker thread in
# cpu T/t, child 0 in T/b (cpu, pids, cgroup2); an empty cgroup T/empty;
# limits on each.
make_layout() {
  local h
  for h in cpu memory pids unified; do mkdir -p "$(cg $h)"; done
  mkdir -p "$(cg cpu b)" "$(cg cpu t)" "$(cg cpu empty)" "$(cg pids b)" "$(cg unified b)"
  echo 512 >"$(cg cpu)/cpu.shares"
  echo 256 >"$(cg cpu b)/cpu.shares"
  echo 300 >"$(cg cpu empty)/cpu.shares"
  echo 50000 >"$(cg cpu t)/cpu.cfs_quota_us"
  echo 64 >"$(cg pids b)/pids.max"
  echo 100 >"$(cg pids)/pids.max"
  echo 268435456 >"$(cg memory)/memory.limit_in_bytes"
  echo 5 >"$(cg unified)/cgroup.max.descendants"
}
place() {
  local h
  for h in cpu memory pids unified; do
    echo "$R" >"$(cg $h)/cgroup.procs" && echo "$C1" >"$(cg $h)/cgroup.procs" || return 1
  done
  echo "$C0" >"$(cg cpu b)/cgroup.procs" && echo "$C0" >"$(cg pids b)/cgroup.procs" &&
    echo "$C0" >"$(cg unified b)/cgroup.procs" && echo "$C0" >"$(cg memory)/cgroup.procs" &&
    echo "$RT" >"$(cg cpu t)/tasks"
}
limits() {
  echo "cpu=$(cat "$(cg cpu)/cpu.shares") cpu/b=$(cat "$(cg cpu b)/cpu.shares") cpu/empty=$(cat "$(cg cpu empty)/cpu.shares")" \
    "quota/t=$(cat "$(cg cpu t)/cpu.cfs_quota_us") pids/b=$(cat "$(cg pids b)/pids.max") pids=$(cat "$(cg pids)/pids.max")" \
    "mem=$(cat "$(cg memory)/memory.limit_in_bytes") v2desc=$(cat "$(cg unified)/cgroup.max.descendants")"
}
# Every thread's cgroups, one line each.
membership() {
  local p t
  for p in "$R" "$C0" "$C1"; do
    for t in /proc/"$p"/task/*; do echo "$(basename "$t"): $(sort "$t/cgroup" | tr '\n' ' ')"; done
  done
}
dump() {  # flags...
  "$cryo" dump -t "$R" -D "$w/img" -o dump.log -v4 "$@" >"$w/dump.out" 2>&1 || { echo "dump failed: $(tail -n2 "$w/dump.out")"; return 1; }
  for f in "$w/img"/*.img; do
    case $(basename "$f") in pages-*) continue ;; esac
    /usr/bin/crit decode -i "$f" >/dev/null 2>"$w/crit.err" || { echo "crit cannot decode $(basename "$f"): $(tail -n1 "$w/crit.err")"; return 1; }
  done
  if [[ " $* " != *" --leave-running "* ]]; then wait_gone "$R" || { echo "dump left the tree running"; return 1; }; fi
}
restore() {  # flags...
  "$cryo" restore -D "$w/img" -d -o restore.log -v4 --pidfile "$w/rpid" "$@" >"$w/restore.out" 2>&1 ||
    { echo "restore failed: $(tail -n2 "$w/restore.out")"; return 1; }
  [ "$(cat "$w/rpid")" = "$R" ] || { echo "restored pid $(cat "$w/rpid"), dumped $R"; return 1; }
}
# Lets the restored tree check itself.
finish() {
  touch "$w/run/go"
  wait_file "$w/run/result" || { echo "no verdict"; return 1; }
  wait_gone "$R"
  local v; v=$(head -n1 "$w/run/result")
  [ "$v" = PASS ] || { echo "$v"; return 1; }
}
# Runs case function FN with ARGS as NAME: silent means passed; then ends
# whatever it started and removes its cgroups.
run_case() {  # name fn args...
  local name=$1 fn=$2 out=$top_w/out.$1
  shift 2
  R="" C0="" C1=""
  "$fn" "$@" >"$out" 2>&1
  if [ ! -s "$out" ]; then echo "PASS $name"; else echo "FAIL $name: $(tail -n 3 "$out" | tr '\n' ' ')"; fi
  local p
  for p in $R $C0 $C1; do kill -9 "$p" 2>/dev/null; done
  for f in "$(cg freezer)/freezer.state" "$(cg unified)/cgroup.freeze"; do
    [ -e "$f" ] && { [ "${f##*/}" = freezer.state ] && echo THAWED >"$f" || echo 0 >"$f"; } 2>/dev/null
  done
  [ -n "$R" ] && wait_gone "$R"
  rm_cgroups
}

# Dump, take the cgroups away (or change them), restore with MODE, and
# compare membership and limits with what they were before the dump.
mode_case() {  # name mode prepare(remove|change|keep) expect-limits(dumped|changed)
  local name=$1 mode=$2 prep=$3 expect=$4
    start "$name" && make_layout && place || return
    local before lim
    before=$(membership); lim=$(limits)
    dump || return
    case $prep in
      remove) rm_cgroups ;;
      change) echo 2048 >"$(cg cpu)/cpu.shares"; echo 90 >"$(cg pids b)/pids.max"; echo 7 >"$(cg unified)/cgroup.max.descendants" ;;
    esac
    local changed; changed=$(limits 2>/dev/null)
    restore --manage-cgroups="$mode" || return
    local after; after=$(membership)
    [ "$after" = "$before" ] || { echo "membership differs: before [$before] after [$after]"; return; }
    if [ "$expect" = dumped ]; then
      [ "$(limits)" = "$lim" ] || echo "limits $(limits), dumped $lim"
    else
      [ "$(limits)" = "$changed" ] || echo "limits $(limits), want the changed $changed"
    fi
    finish
}
run_case soft-recreates mode_case soft-recreates soft remove dumped
run_case soft-keeps-existing mode_case soft-keeps-existing soft change changed
run_case full-rewrites mode_case full-rewrites full change dumped
run_case full-recreates mode_case full-recreates full remove dumped
run_case props-rewrites mode_case props-rewrites props change dumped
run_case none-leaves-limits mode_case none-leaves-limits none change changed
run_case strict-creates mode_case strict-creates strict remove dumped

# Modes that must refuse: the cgroups are missing (none, props) or present
# (strict). Nothing may be left: no process, no cgroup made by cryo.
refuse_case() {  # name mode prepare(remove|keep) words
  local name=$1 mode=$2 prep=$3 words=$4
    start "$name" && make_layout && place || return
    dump || return
    [ "$prep" = remove ] && rm_cgroups
    local listing; listing=$(find "$(cg cpu)" "$(cg pids)" "$(cg unified)" -type d 2>/dev/null | sort)
    if "$cryo" restore -D "$w/img" -d --manage-cgroups="$mode" 2>"$w/err"; then echo "restore succeeded"; return; fi
    one_line "$w/err" && grep -q "$words" "$w/err" || echo "error was: $(cat "$w/err")"
    sleep 0.1
    alive "$R" && echo "pid $R is alive after the failed restore"
    [ "$(find "$(cg cpu)" "$(cg pids)" "$(cg unified)" -type d 2>/dev/null | sort)" = "$listing" ] ||
      echo "the failed restore left cgroups behind"
    # The images are intact: the right mode restores them.
    [ "$prep" = keep ] && rm_cgroups
    restore --manage-cgroups=soft && finish
}
run_case none-needs-cgroups refuse_case none-needs-cgroups none remove "does not exist"
run_case props-needs-cgroups refuse_case props-needs-cgroups props remove "does not exist"
run_case strict-refuses-existing refuse_case strict-refuses-existing strict keep "already exists"

# ignore: nobody is moved; the tree comes back in cryo's own cgroups.
case_ignore() {
  start ignore && make_layout && place && dump && restore --manage-cgroups=ignore || return
  mine=$(sort /proc/self/cgroup | tr '\n' ' ')
  for p in "$R" "$C0"; do
    [ "$(sort /proc/"$p"/cgroup | tr '\n' ' ')" = "$mine" ] || echo "pid $p is in $(cat /proc/"$p"/cgroup | tr '\n' ' ')"
  done
  finish
}
run_case ignore case_ignore

# --cgroup-root: the tree's cgroups (T and what is below it) come back
# under another root, per controller or for all.
case_cgroup_root() {
  start cgroup-root && make_layout && place || return
  before=$(membership | sed "s|/$tag|/$tag-new|g")
  dump || return
  rm_cgroups
  local roots=() h ctl
  for h in cpu memory pids unified; do
    ctl=$h; [ $h = unified ] && ctl=""
    roots+=(--cgroup-root "$ctl:$(cgpath $h)-new")
  done
  restore "${roots[@]}" || return
  after=$(membership)
  [ "$after" = "$before" ] || echo "membership: want [$before] got [$after]"
  [ "$(cat "$(cg cpu)-new/cpu.shares")" = 512 ] && [ "$(cat "$(cg cpu)-new/b/cpu.shares")" = 256 ] || echo "limits not under the new root"
  finish
}
run_case cgroup-root case_cgroup_root
for h in cpu memory pids unified; do [ -d "$(cg $h)-new" ] && find "$(cg $h)-new" -depth -type d -exec rmdir {} \; ; done

# --cgroup-props replaces what is recorded for cpu; --cgroup-dump-controller
# keeps only the named hierarchies.
case_cgroup_props() {
  start cgroup-props && make_layout && place || return
  dump --cgroup-props '"cpu":
 - "strategy": "replace"
 - "properties": ["cpu.cfs_quota_us"]' --cgroup-dump-controller cpu --cgroup-dump-controller pids || return
  json=$(/usr/bin/crit decode -i "$w/img/cgroup.img")
  grep -q '"cpu.cfs_quota_us"' <<<"$json" || echo "cpu.cfs_quota_us not recorded"
  grep -q '"cpu.shares"' <<<"$json" && echo "cpu.shares recorded though replaced"
  grep -q '"pids.max"' <<<"$json" || echo "pids.max not recorded"
  grep -q '"name": "memory"' <<<"$json" && echo "memory recorded though not asked for"
  rm_cgroups
  restore || return
  [ "$(awk -F: '$2 == "cpu" {print $3}' /proc/"$C0"/cgroup)" = "$(cgpath cpu b)" ] || echo "child 0 not back in cpu b"
  [ "$(cat "$(cg cpu t)/cpu.cfs_quota_us")" = 50000 ] || echo "quota not restored"
  [ "$(cat "$(cg pids b)/pids.max")" = 64 ] || echo "pids.max not restored"
  finish
}
run_case cgroup-props case_cgroup_props

# cgroup2 threaded: the root in T/d (a domain), its worker in T/d/t1, a
# threaded cgroup; recreated threaded, the thread moved back into it.
case_v2_threaded() {
  start v2-threaded || return
  mkdir -p "$(cg unified d)" && echo "$R" >"$(cg unified d)/cgroup.procs" && mkdir "$(cg unified d/t1)" &&
    echo threaded >"$(cg unified d/t1)/cgroup.type" && echo "$RT" >"$(cg unified d/t1)/cgroup.threads" || return
  before=$(membership)
  dump || return
  rm_cgroups
  restore || return
  [ "$(cat "$(cg unified d/t1)/cgroup.type")" = threaded ] || echo "t1 is $(cat "$(cg unified d/t1)/cgroup.type")"
  [ "$(membership)" = "$before" ] || echo "membership: want [$before] got [$(membership)]"
  finish
}
run_case v2-threaded case_v2_threaded

# A cgroup namespace rooted at T: the tree sees T as "/" and child 0 in
# "/b". Restored, it is in a cgroup namespace rooted at T again.
case_cgroup_ns() {
  make_layout || return
  w=$top_w/cgroup-ns; mkdir -p "$w/run" "$w/img"
  local dirs=() h pid
  for h in cpu memory pids unified; do dirs+=("$(cg $h)/cgroup.procs"); done
  pid=$( (for f in "${dirs[@]}"; do echo $BASHPID >"$f"; done
          cd "$w/run" && CRYO_PROG_DIR=$w/run exec unshare -C "$spawn" -o "$w/out" "$prog") )
  started+=("$pid")
  wait_file "$w/run/ready" || { echo "never ready: $(cat "$w/out")"; return; }
  read -r _ R RT <"$w/run/ids-root"; read -r _ C0 C0T <"$w/run/ids-c0"; read -r _ C1 C1T <"$w/run/ids-c1"
  place || return
  inside() { local p t; for p in "$R" "$C0"; do for t in /proc/"$p"/task/*; do
    echo "$(basename "$t"): $(nsenter -C -t "$R" sort "$t/cgroup" | tr '\n' ' ')"; done; done; }
  local before in_before
  before=$(membership); in_before=$(inside)
  [[ $in_before == *"1:cpu:/b "* ]] || { echo "the namespace is not rooted at T: $in_before"; return; }
  dump || return
  rm_cgroups
  restore || return
  [ "$(membership)" = "$before" ] || echo "membership: want [$before] got [$(membership)]"
  [ "$(inside)" = "$in_before" ] || echo "seen from inside: want [$in_before] got [$(inside)]"
  [ "$(readlink /proc/"$R"/ns/cgroup)" != "$(readlink /proc/self/ns/cgroup)" ] || echo "not in a cgroup namespace of its own"
  finish
}
run_case cgroup-ns case_cgroup_ns

# --cgroup-yard: the hierarchies are reached through DIR/cpu, DIR/unified,
# ..., mounted there by cryo when absent (CRIU's layout), not privately.
case_cgroup_yard() {
  start cgroup-yard && make_layout && place || return
  local yard=$w/yard before
  mkdir -p "$yard"
  before=$(membership)
  dump --cgroup-yard "$yard" || return
  # What cryo mounted in the yard is gone once it is done.
  [ -z "$(ls "$yard")" ] || echo "the dump left hierarchies in the yard: $(ls "$yard")"
  rm_cgroups
  restore --cgroup-yard "$yard" || return
  [ "$(membership)" = "$before" ] || echo "membership: want [$before] got [$(membership)]"
  [ "$(cat "$(cg cpu b)/cpu.shares")" = 256 ] || echo "cpu b has $(cat "$(cg cpu b)/cpu.shares") shares"
  [ -z "$(ls "$yard")" ] || echo "the restore left hierarchies in the yard: $(ls "$yard")"
  finish
}
run_case cgroup-yard case_cgroup_yard

# A cgroup the restore cannot create (its parent allows no more
# descendants): one line naming it, nothing left; the dump's errors (a bad
# --freeze-cgroup, bad --cgroup-props) leave the tree running as it was.
case_cannot_create() {
  start cannot-create && make_layout && place || return
  if "$cryo" dump -t "$R" -D "$w/img" --freeze-cgroup /sys/fs/cgroup/freezer/no-such-cgroup-$$ 2>"$w/err"; then
    echo "dump with a missing freezer cgroup succeeded"
  fi
  one_line "$w/err" && grep -q "no-such-cgroup" "$w/err" || echo "error was: $(cat "$w/err")"
  if "$cryo" dump -t "$R" -D "$w/img" --cgroup-props '"cpu": nonsense' 2>"$w/err"; then echo "dump with bad props succeeded"; fi
  one_line "$w/err" && grep -q "cgroup props" "$w/err" || echo "error was: $(cat "$w/err")"
  [ -e "$w/img/inventory.img" ] && echo "a failed dump wrote an inventory"
  alive "$R" && alive "$C0" && alive "$C1" || echo "a failed dump stopped the tree"
  dump || return
  rm_cgroups
  mkdir -p "$(cg unified)" && echo 0 >"$(cg unified)/cgroup.max.descendants"
  if "$cryo" restore -D "$w/img" -d 2>"$w/err"; then echo "restore succeeded"; fi
  one_line "$w/err" && grep -q "create cgroup" "$w/err" || echo "error was: $(cat "$w/err")"
  sleep 0.1; alive "$R" && echo "pid $R is alive"
  [ -d "$(cg cpu)" ] && echo "cgroups were left behind"
  echo 10 >"$(cg unified)/cgroup.max.descendants"
  restore && finish
}
run_case cannot-create case_cannot_create

# The freezer, v1 and v2, with a tree that keeps forking: --leave-running
# thaws it and the tree runs on; a second dump kills it; the restore runs.
freeze_case() {  # name hierarchy state-file thawed-value
  local name=$1 h=$2 file=$3 thawed=$4
    start "$name" || return
    mkdir -p "$(cg $h)" && echo "$R" >"$(cg $h)/cgroup.procs" && echo "$C0" >"$(cg $h)/cgroup.procs" &&
      echo "$C1" >"$(cg $h)/cgroup.procs" || return
    dump --freeze-cgroup "$(cg $h)" --leave-running || return
    [ "$(head -c ${#thawed} "$(cg $h)/$file")" = "$thawed" ] || echo "after the dump $file is $(cat "$(cg $h)/$file")"
    alive "$R" && alive "$C1" || echo "the tree did not survive --leave-running"
    rm -rf "$w/img"; mkdir "$w/img"
    dump --freeze-cgroup "$(cg $h)" || return
    restore || return
    [ "$(awk -F: -v n="$( [ $h = unified ] || echo $h)" '$2 == n {print $3}' /proc/"$C1"/cgroup)" = "$(cgpath $h)" ] ||
      echo "the forker is not back in its cgroup"
    finish
}
run_case freezer-v1-forking freeze_case freezer-v1-forking freezer freezer.state THAWED
run_case freezer-v2-forking freeze_case freezer-v2-forking unified cgroup.freeze 0

# A paused tree (frozen before cryo runs, as runc pause and containerd's
# checkpoint leave it): dumped, it stays frozen; restored, it comes back
# frozen, and runs once thawed.
paused_case() {  # name hierarchy state-file frozen-value thawed-value
  local name=$1 h=$2 file=$3 frozen=$4 thawed=$5
    start "$name" || return
    mkdir -p "$(cg $h)" && for p in "$R" "$C0" "$C1"; do echo "$p" >"$(cg $h)/cgroup.procs"; done
    echo "$frozen" >"$(cg $h)/$file"
    sleep 0.2
    dump --freeze-cgroup "$(cg $h)" --leave-running || return
    [ "$(head -c ${#frozen} "$(cg $h)/$file")" = "$frozen" ] || echo "after --leave-running $file is $(cat "$(cg $h)/$file")"
    rm -rf "$w/img"; mkdir "$w/img"
    dump --freeze-cgroup "$(cg $h)" || return
    # Restored where its cgroup is made anew (another host): frozen.
    rm_cgroups
    restore || return
    [ "$(head -c ${#frozen} "$(cg $h)/$file")" = "$frozen" ] || echo "restored, $file is $(cat "$(cg $h)/$file")"
    local t0; t0=$(awk '{print $14+$15}' /proc/"$C1"/task/"$C1T"/stat)
    sleep 0.3
    [ "$(awk '{print $14+$15}' /proc/"$C1"/task/"$C1T"/stat)" = "$t0" ] || echo "the restored tree runs while frozen"
    echo "$thawed" >"$(cg $h)/$file"
    finish
}
run_case paused-v1 paused_case paused-v1 freezer freezer.state FROZEN THAWED
run_case paused-v2 paused_case paused-v2 unified cgroup.freeze 1 0

# Frozen, but no --freeze-cgroup: ptrace alone would wait for ever. The
# dump must say why at once and leave the tree frozen as it was.
case_frozen_without_flag() {
  start frozen-without-flag || return
  mkdir -p "$(cg freezer)" && for p in "$R" "$C0" "$C1"; do echo "$p" >"$(cg freezer)/cgroup.procs"; done
  echo FROZEN >"$(cg freezer)/freezer.state"; sleep 0.2
  if timeout 20 "$cryo" dump -t "$R" -D "$w/img" 2>"$w/err"; then echo "dump succeeded"; fi
  one_line "$w/err" && grep -q "frozen cgroup" "$w/err" && grep -q -- "--freeze-cgroup" "$w/err" || echo "error was: $(cat "$w/err")"
  [ "$(cat "$(cg freezer)/freezer.state")" = FROZEN ] || echo "the cgroup is $(cat "$(cg freezer)/freezer.state")"
  [ -e "$w/img/inventory.img" ] && echo "an inventory marks the failed dump complete"
  echo THAWED >"$(cg freezer)/freezer.state"
  alive "$R" || echo "the tree died"
  touch "$w/run/go"; wait_file "$w/run/result"; [ "$(head -n1 "$w/run/result")" = PASS ] || echo "the tree lost its state"
}
run_case frozen-without-flag case_frozen_without_flag

# A controller the restoring host lacks (the image edited with crit):
# one line naming it, nothing left behind.
case_missing_controller() {
  start missing-controller && make_layout && place && dump || return
  /usr/bin/crit decode -i "$w/img/cgroup.img" -o "$w/cg.json" &&
    sed -i 's/"name": "pids"/"name": "nosuchctl"/; s/"pids"$/"nosuchctl"/' "$w/cg.json" &&
    /usr/bin/crit encode -i "$w/cg.json" -o "$w/img/cgroup.img" || { echo "crit could not rewrite cgroup.img"; return; }
  rm_cgroups
  if "$cryo" restore -D "$w/img" -d 2>"$w/err"; then echo "restore succeeded"; fi
  one_line "$w/err" && grep -q "nosuchctl" "$w/err" || echo "error was: $(cat "$w/err")"
  sleep 0.1; alive "$R" && echo "pid $R is alive"
  [ -d "$(cg cpu)" ] && echo "cgroups were left behind"
  true
}
run_case missing-controller case_missing_controller

# A restore that fails late (injected after the tasks are built) removes
# the cgroups it created.
case_late_failure() {
  start late-failure && make_layout && place && dump || return
  rm_cgroups
  if CRYO_FAULT=restore-cgroups "$cryo" restore -D "$w/img" -d 2>"$w/err"; then echo "restore succeeded"; fi
  sleep 0.1; alive "$R" && echo "pid $R is alive"
  [ -d "$(cg cpu)" ] && echo "cgroups were left behind: $(find "$(cg cpu)" | tr '\n' ' ')"
  restore && finish
}
run_case late-failure case_late_failure
