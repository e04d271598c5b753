// Creating a process with a chosen pid: clone3 with set_tid (needs
// CAP_CHECKPOINT_RESTORE or CAP_SYS_ADMIN over the pid namespace).
#pragma once

#include <sys/types.h>

#include <cstdint>

#include "engine/base/result.h"

namespace cryo {

// Forks a child whose pid is `pid` (in the caller's pid namespace), with
// clone3 `flags` (e.g. CLONE_NEWPID) and SIGCHLD as exit signal. Returns 0 in
// the child, like fork. In the child only async-signal-safe code may run.
// A taken pid is an error naming it (EEXIST).
Result<pid_t> ForkWithPid(pid_t pid, uint64_t flags = 0);

}  // namespace cryo
