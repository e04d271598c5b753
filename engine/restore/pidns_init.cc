#include "engine/restore/pidns_init.h"

#include <fcntl.h>
#include <linux/sched.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>

#include "engine/base/files.h"

namespace cryo {
namespace {

// PID 1 of the new namespace. Only system calls: it is a fork of cryo.
[[noreturn]] void InitMain(int rd) {
  ::close_range(0, static_cast<unsigned>(rd) - 1, 0);
  ::close_range(static_cast<unsigned>(rd) + 1, ~0U, 0);
  pid_t root = 0;
  if (::read(rd, &root, sizeof root) != sizeof root) ::_exit(0);  // cryo gave up
  ::close(rd);
  int pidfd = static_cast<int>(::syscall(SYS_pidfd_open, root, 0));
  if (pidfd < 0) ::_exit(0);
  // Orphans of the tree come here; the root is not our child.
  for (;;) {
    while (::waitpid(-1, nullptr, WNOHANG) > 0) {
    }
    pollfd p{pidfd, POLLIN, 0};
    int r = ::poll(&p, 1, 200);
    if (r == 1) break;  // the root has exited
  }
  // What is left of the tree is ours to reap; then the namespace ends.
  while (::waitpid(-1, nullptr, 0) > 0 || errno == EINTR) {
  }
  ::_exit(0);
}

}  // namespace

Result<PidnsInit> PidnsInit::Start() {
  PidnsInit in;
  in.own_ns_ = CRYO_TRY(Open("/proc/self/ns/pid_for_children", O_RDONLY | O_CLOEXEC));
  int p[2];
  if (::pipe2(p, O_CLOEXEC) != 0) return ErrnoError("pipe");
  UniqueFd rd(p[0]);
  in.tell_ = UniqueFd(p[1]);
  clone_args args{};
  args.flags = CLONE_NEWPID;
  args.exit_signal = SIGCHLD;
  long pid = ::syscall(SYS_clone3, &args, sizeof args);
  if (pid < 0) return ErrnoError("create a pid namespace");
  if (pid == 0) InitMain(rd.get());
  in.pid_ = static_cast<pid_t>(pid);
  UniqueFd ns = CRYO_TRY(Open(fmt::format("/proc/{}/ns/pid", pid), O_RDONLY | O_CLOEXEC));
  if (::setns(ns.get(), CLONE_NEWPID) != 0) return ErrnoError("enter the new pid namespace");
  return in;
}

Result<> PidnsInit::Leave() {
  if (own_ns_ && ::setns(own_ns_.get(), CLONE_NEWPID) != 0) return ErrnoError("back to cryo's pid namespace");
  own_ns_.reset();
  return {};
}

Result<> PidnsInit::Watch(pid_t root_inside) {
  if (::write(tell_.get(), &root_inside, sizeof root_inside) != sizeof root_inside)
    return ErrnoError("tell the pid namespace's init");
  tell_.reset();
  watching_ = true;
  return {};
}

PidnsInit::~PidnsInit() {
  (void)Leave();
  if (pid_ > 0 && !watching_) {
    ::kill(pid_, SIGKILL);
    ::waitpid(pid_, nullptr, 0);
  }
}

}  // namespace cryo
