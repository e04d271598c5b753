// File locks (flock, POSIX, OFD) and leases, dumped with --file-locks from the
// "lock:" lines /proc/PID/fdinfo/FD shows for that fd's file.
#pragma once

#include <sys/types.h>

#include <string_view>
#include <vector>

#include "engine/base/result.h"
#include "engine/image/proto/files.pb.h"

namespace cryo {

// CRIU's numbering (the kernel's FL_* bits).
inline constexpr uint32_t kLockPosix = 1, kLockFlock = 2, kLockOfd = 1024;
// A lease (F_SETLEASE) is CRIU's FL_LEASE; one being broken has
// kLeaseBreaking added to its type, which is then the type it breaks to.
inline constexpr uint32_t kLockLease = 8, kLeaseBreaking = 4;

// The locks in an fdinfo text, as held through fd `fd` of `pid`: flock and
// OFD locks of this open file description, POSIX locks `pid` owns.
Result<std::vector<img::file_lock_entry>> ParseFdLocks(std::string_view fdinfo, pid_t pid, int fd);

}  // namespace cryo
