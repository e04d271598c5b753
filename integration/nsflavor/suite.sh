#!/usr/bin/env bash
# The state programs again, in the ns flavor: each one the child of PID 1
# of fresh pid, mount, UTS, IPC, network and cgroup namespaces on a root
# filesystem of its own (see integration/programs/suite.sh).
FLAVOR=ns exec bash "$(dirname "${BASH_SOURCE[0]}")/../programs/suite.sh" "$@"
