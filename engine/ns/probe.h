// What only a member of a namespace can see (its hostname, its IPC
// sysctls, its network devices' flags), read by a child of cryo that joins
// the namespaces of a task and reports back through a pipe.
#pragma once

#include <sys/types.h>

#include <string>

#include "engine/base/result.h"

namespace cryo::ns {

// `fn` runs in the child after setns into `pid`'s namespaces of the kinds
// in `flags` (CLONE_NEWUTS, CLONE_NEWIPC, CLONE_NEWNET, CLONE_NEWCGROUP):
// it may only make system calls (no allocation); it fills `out` (at most
// `cap` bytes) and returns the length, or -errno. `arg` is passed on.
using ProbeFn = long (*)(char* out, size_t cap, const char* arg);
Result<std::string> ReadInside(pid_t pid, int flags, ProbeFn fn, const char* arg = "");
// A probe: the contents of the file named by `arg`, as seen from inside.
long ReadFileProbe(char* out, size_t cap, const char* path);

// The inode of `pid`'s namespace of kind `kind` ("uts", "net", ...); 0 if none.
uint64_t NsInode(pid_t pid, const char* kind);
// The same through a process's open /proc/PID/ns directory.
uint64_t NsInodeAt(int ns_dir, const char* kind);

}  // namespace cryo::ns
