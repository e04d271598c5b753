#include "engine/dump/epoll_targets.h"

#include <linux/kcmp.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <map>
#include <set>
#include <utility>

#include "engine/proc/proc.h"

namespace cryo {
namespace {

// Whether registration `slot` of the epoll (slot.efd in `holder`) watches
// the file at `fd` in `task`.
bool Watches(pid_t task, int fd, pid_t holder, kcmp_epoll_slot slot) {
  return ::syscall(SYS_kcmp, task, holder, KCMP_EPOLL_TFD, fd, &slot) == 0;
}

}  // namespace

Result<> ResolveEpollTargets(pid_t holder, int efd, pid_t task, img::eventpoll_file_entry* e) {
  std::vector<int> fds;
  std::map<uint32_t, uint32_t> seen;  // tfd -> registrations with it so far
  std::set<uint32_t> used;
  for (auto& t : *e->mutable_tfd()) {
    kcmp_epoll_slot slot{static_cast<uint32_t>(efd), t.tfd(), seen[t.tfd()]++};
    uint32_t at = t.tfd();
    if (!Watches(task, static_cast<int>(at), holder, slot)) {
      if (fds.empty()) fds = ListFds(task);
      bool found = false;
      for (int fd : fds) {
        if ((task == holder && fd == efd) || !Watches(task, fd, holder, slot)) continue;
        at = static_cast<uint32_t>(fd);
        found = true;
        break;
      }
      if (!found)
        return MakeError(ENOTSUP,
                         "pid {}: an epoll watches a file through fd {}, which the task closed, and the task "
                         "holds no other fd of that file: not supported",
                         task, t.tfd());
    }
    if (!used.insert(at).second)
      return MakeError(ENOTSUP,
                       "pid {}: an epoll watches fd {} twice (through fds the task closed since): not supported",
                       task, at);
    t.set_tfd(at);
  }
  return {};
}

}  // namespace cryo
