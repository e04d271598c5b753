// What only the task itself can tell (read with remote syscalls) and what
// ptrace and /proc show from outside, gathered into core images.
#pragma once

#include <sys/types.h>

#include "engine/base/log.h"
#include "engine/base/result.h"
#include "engine/image/proto/core.pb.h"
#include "engine/image/proto/security.pb.h"
#include "engine/ns/user.h"
#include "engine/proc/proc.h"

namespace cryo {

// Process-wide values that go to other images than core.
struct TaskExtras {
  uint32_t umask = 022;  // fs-PID.img
  uint64_t brk = 0;      // mm-PID.img
  int dumpable = 1;
  bool thp_disabled = false;  // prctl(PR_SET_THP_DISABLE)
  ProcStat stat;         // its mm fields: mm-PID.img
};

// Fills the leader's core: core.tc (process-wide state) and its thread's
// registers and state, through one scratch mapping in it. `maps`: the
// id maps of the process's user namespace (ns::TaskIdMaps). Seccomp
// filters are appended to `seccomp`.
Result<> DumpLeaderCore(pid_t pid, const ns::IdMaps& maps, img::core_entry& core, TaskExtras* extras,
                        img::seccomp_entry* seccomp, Log& log);
// Fills registers and per-thread state of one other thread.
Result<> DumpThreadCore(pid_t pid, pid_t tid, const ns::IdMaps& maps, img::core_entry& core,
                        img::seccomp_entry* seccomp, Log& log);

}  // namespace cryo
