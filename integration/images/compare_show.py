#!/usr/bin/python3
"""Compares `crit decode` with `cryo show` for one image file: every field
crit prints must be in cryo's output with the same value. cryo may print
fields crit 3.17 does not know (CRIU 4.x additions), listed in ALLOWED_EXTRA.

usage: compare_show.py CRYO FILE [--pretty]
exit 0 when they agree; prints the differences otherwise.
"""
import json
import subprocess
import sys

ALLOWED_EXTRA = {"nr_pages_64"}


def crit(path, pretty):
    cmd = ["/usr/bin/crit", "decode", "-i", path] + (["--pretty"] if pretty else [])
    return json.loads(subprocess.run(cmd, check=True, capture_output=True, text=True).stdout)


def cryo(binary, path, pretty):
    cmd = [binary, "show", path] + ([] if pretty else ["--no-pretty"])
    return json.loads(subprocess.run(cmd, check=True, capture_output=True, text=True).stdout)


def compare(a, b, where, diffs):
    if isinstance(a, dict):
        if not isinstance(b, dict):
            diffs.append("%s: crit has an object, cryo %r" % (where, b))
            return
        for k, v in a.items():
            if k not in b:
                diffs.append("%s.%s: missing in cryo" % (where, k))
            else:
                compare(v, b[k], where + "." + k, diffs)
        for k in b:
            if k not in a and k not in ALLOWED_EXTRA:
                diffs.append("%s.%s: only in cryo" % (where, k))
    elif isinstance(a, list):
        if not isinstance(b, list) or len(a) != len(b):
            diffs.append("%s: crit has %d items, cryo %s" % (where, len(a), len(b) if isinstance(b, list) else b))
            return
        for i, (x, y) in enumerate(zip(a, b)):
            compare(x, y, "%s[%d]" % (where, i), diffs)
    elif a != b:
        diffs.append("%s: crit %r, cryo %r" % (where, a, b))


def main():
    binary, path = sys.argv[1], sys.argv[2]
    pretty = "--pretty" in sys.argv[3:]
    diffs = []
    compare(crit(path, pretty), cryo(binary, path, pretty), "", diffs)
    for d in diffs[:20]:
        print(d)
    return 1 if diffs else 0


if __name__ == "__main__":
    sys.exit(main())
