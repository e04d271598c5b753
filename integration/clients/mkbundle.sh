#!/usr/bin/env bash
# mkbundle.sh DIR: an OCI bundle for the client tests, made offline: the
# busybox-static root filesystem of the ns flavor and `runc spec`, with no
# terminal, a writable root, and a counter loop as the container's
# process (it writes /tmp/counter and prints "tick N" every 0.2 s).
set -euo pipefail
d=$1
top=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
mkdir -p "$d"
"$top/integration/programs/lib/mkrootfs.sh" "$d/rootfs"
(cd "$d" && runc spec)
python3 - "$d/config.json" <<'PY'
import json, sys
p = sys.argv[1]
c = json.load(open(p))
c["process"]["terminal"] = False
c["process"]["args"] = ["sh", "-c", "i=0; while true; do i=$((i+1)); echo $i > /tmp/counter; echo tick $i; sleep 0.2; done"]
c["root"]["readonly"] = False
json.dump(c, open(p, "w"), indent=1)
PY
