#include "engine/restore/clone_pid.h"

#include <linux/sched.h>
#include <signal.h>
#include <sys/syscall.h>
#include <unistd.h>

namespace cryo {

Result<pid_t> ForkWithPid(pid_t pid, uint64_t flags) {
  pid_t tid = pid;
  clone_args args{};
  args.flags = flags;
  // A sibling (CLONE_PARENT) signals the caller's parent as the caller would.
  args.exit_signal = (flags & CLONE_PARENT) ? 0 : SIGCHLD;
  args.set_tid = reinterpret_cast<uint64_t>(&tid);
  args.set_tid_size = 1;
  // Raw clone3 without a new stack behaves like fork: the child continues
  // here on a copy of the parent's stack.
  long r = ::syscall(SYS_clone3, &args, sizeof args);
  if (r < 0) {
    if (errno == EEXIST) return MakeError(EEXIST, "pid {} is already taken", pid);
    if (errno == EINVAL && pid > 0)
      return ErrnoError("create pid {} (beyond pid_max, or not a valid pid)", pid);
    return ErrnoError("clone3 with pid {}", pid);
  }
  return static_cast<pid_t>(r);
}

}  // namespace cryo
