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

#include <vector>

#include "engine/base/log.h"
#include "engine/base/result.h"

namespace cryo::ns {

Result<> DumpSysvObjects(pid_t pid, int dir, uint32_t ns_id, Log& log);
// In the IPC namespace cryo is in. Gives the shared memory segments that
// were removed (IPC_RMID) while still attached: they are made again, and
// removed once the tasks have them attached (RemoveSegments).
Result<std::vector<int>> RestoreSysvObjects(int dir, uint32_t ns_id, Log& log);
Result<> RemoveSegments(const std::vector<int>& ids);

}  // namespace cryo::ns
