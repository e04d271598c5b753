#!/usr/bin/env bash
# The built binary, as clients see it: version line, errors, log file,
# the `criu` name, check output.
set -u
cryo=$(readlink -f "$1")
fail=0
t=$(mktemp -d /tmp/cryo-cli-test.XXXXXX)
trap 'rm -rf "$t"' EXIT
check() {  # description, then a command that must succeed
  local what=$1; shift
  if "$@"; then echo "ok   $what"; else echo "FAIL $what"; fail=1; fi
}

out=$("$cryo" --version); check "--version prints Version: 4.2" [ "$out" = "Version: 4.2" ]
out=$("$cryo" -V 2>/dev/null </dev/null 2>&-); check "-V with stdin/stderr closed (LXC)" [ "$out" = "Version: 4.2" ]
ln -s "$cryo" "$t/criu"
out=$("$t/criu" --version); check "answers as criu" [ "$out" = "Version: 4.2" ]

"$cryo" dump >"$t/out" 2>"$t/err"; rc=$?
check "dump without -t exits 1" [ $rc -eq 1 ]
check "dump without -t: one line on stderr" [ "$(wc -l <"$t/err")" -eq 1 ]
check "dump without -t: says what is missing" grep -q -- "-t/--tree PID is required" "$t/err"

"$cryo" dump -t 1 --frobnicate 2>"$t/err"; rc=$?
check "unknown option exits 1" [ $rc -eq 1 ]
check "unknown option named" grep -qx "cryo: dump: unknown option --frobnicate" "$t/err"

mkdir "$t/img" "$t/work"
"$cryo" dump -t $$ -D "$t/img" -W "$t/work" -o dump.log 2>"$t/err"; rc=$?
check "dump (not built yet) exits non-zero" [ $rc -ne 0 ]
check "log file created in the work dir" [ -f "$t/work/dump.log" ]
check "log file is private" [ "$(stat -c %a "$t/work/dump.log")" = 600 ]

"$cryo" check >"$t/out"; rc=$?
check "check exits 0 here" [ $rc -eq 0 ]
check "check ends with Looks good." grep -qx "Looks good." "$t/out"
"$cryo" check --json >"$t/out"
check "check --json is JSON with the probes" /usr/bin/python3 -c "import json,sys; d=json.load(open('$t/out')); sys.exit(0 if d['clone3_set_tid'] and not d['soft_dirty'] else 1)"
"$cryo" check --feature pagemap_scan >/dev/null; check "feature pagemap_scan present" [ $? -eq 0 ]
# No soft-dirty here: writes are tracked with PAGEMAP_SCAN and uffd-wp.
"$cryo" check --feature mem_dirty_track >/dev/null; rc=$?
want=$(/usr/bin/python3 -c "import json; d=json.load(open('$t/out')); print(0 if d['pagemap_scan'] and d['uffd_wp_async'] else 1)")
check "feature mem_dirty_track as the tracking probes say" [ $rc -eq "$want" ]
"$cryo" check --feature nonsense 2>"$t/err"; rc=$?; check "unknown feature is an error" [ $rc -eq 1 ] && grep -q "unknown feature" "$t/err"

echo "tcp-established" >"$t/bad.conf"; echo "no-such-option" >>"$t/bad.conf"
"$cryo" --config "$t/bad.conf" dump -t 1 2>"$t/err"; rc=$?
check "bad config line names file and line" grep -q "bad.conf:2: unknown option --no-such-option" "$t/err"
"$cryo" --config "$t/missing.conf" check 2>"$t/err"; rc=$?
check "missing --config file is an error" [ $rc -eq 1 ]

mkdir "$t/cpu"
"$cryo" cpuinfo dump -D "$t/cpu"; rc=$?
check "cpuinfo dump writes cpuinfo.img" [ $rc -eq 0 -a -s "$t/cpu/cpuinfo.img" ]
"$cryo" cpuinfo check -D "$t/cpu"; rc=$?; check "cpuinfo check passes on this CPU" [ $rc -eq 0 ]
"$cryo" cpuinfo check -D "$t" 2>"$t/err"; rc=$?
check "cpuinfo check without an image is one error line" [ $rc -eq 1 -a "$(wc -l <"$t/err")" -eq 1 ]

exit $fail
