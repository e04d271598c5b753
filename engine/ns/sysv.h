// The SysV IPC objects of a tree's own IPC namespace: shared memory
// segments with their contents (ipcns-shm-N.img), semaphore sets with
// their values (ipcns-sem-N.img), message queues with their messages in
// order (ipcns-msg-N.img), each with its key, id, owner and mode. cryo
// joins the namespace to read them (they are visible only there) and is
// in the new one when it makes them again, each at its id (the
// kernel/*_next_id sysctls). A segment a task still has attached stops
// the dump: its mappings are not restored yet.
#pragma once

#include <sys/types.h>

#include <cstdint>

#include "engine/base/log.h"
#include "engine/base/result.h"

namespace cryo::ns {

Result<> DumpSysvObjects(pid_t pid, int dir, uint32_t ns_id, Log& log);
// In the IPC namespace cryo is in.
Result<> RestoreSysvObjects(int dir, uint32_t ns_id, Log& log);

}  // namespace cryo::ns
