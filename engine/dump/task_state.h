// What only the task itself can tell (read with remote syscalls) and what
// ptrace and /proc show from outside, gathered into core images.
#pragma once

#include <sys/types.h>

#include "engine/base/log.h"
#include "engine/base/result.h"
#include "engine/image/proto/core.pb.h"
#include "engine/image/proto/security.pb.h"

namespace cryo {

// Process-wide values that go to other images than core.
struct TaskExtras {
  uint32_t umask = 022;  // fs-PID.img
  uint64_t brk = 0;      // mm-PID.img
  int dumpable = 1;
};

// Fills core.tc (process-wide state) from the leader.
Result<> DumpTaskCore(pid_t pid, img::core_entry& core, TaskExtras* extras, Log& log);
// Fills registers and per-thread state of one thread; its seccomp filters
// are appended to `seccomp`.
Result<> DumpThreadCore(pid_t pid, pid_t tid, img::core_entry& core, img::seccomp_entry* seccomp,
                        Log& log);

}  // namespace cryo
