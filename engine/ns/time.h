// A time namespace: its clock offsets (timens-N.img), monotonic and
// boottime, as /proc/PID/timens_offsets shows them.
#pragma once

#include <sys/types.h>

#include "engine/base/result.h"
#include "engine/image/proto/namespaces.pb.h"

namespace cryo::ns {

Result<img::timens_entry> DumpTime(pid_t pid);
// Sets them for the children's time namespace of process `pid` (0:
// cryo), made by unshare with none born in it yet: the kernel takes
// offsets only then.
Result<> ApplyTime(const img::timens_entry& e, pid_t pid = 0);

}  // namespace cryo::ns
