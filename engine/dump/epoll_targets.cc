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

// Whether registration `slot` of the epoll watches the file at `fd`.
bool Watches(pid_t pid, int fd, kcmp_epoll_slot slot) {
  return ::syscall(SYS_kcmp, pid, pid, KCMP_EPOLL_TFD, fd, &slot) == 0;
}

}  // namespace

Result<> ResolveEpollTargets(pid_t pid, int efd, img::eventpoll_file_entry* e) {
  std::vector<int> fds;
  std::map<uint32_t, uint32_t> seen;  // tfd -> registrations with it so far
  std::set<uint32_t> used;
  for (auto& t : *e->mutable_tfd()) {
    kcmp_epoll_slot slot{static_cast<uint32_t>(efd), t.tfd(), seen[t.tfd()]++};
    uint32_t at = t.tfd();
    if (!Watches(pid, static_cast<int>(at), slot)) {
      if (fds.empty()) fds = ListFds(pid);
      bool found = false;
      for (int fd : fds) {
        if (fd == efd || !Watches(pid, fd, slot)) continue;
        at = static_cast<uint32_t>(fd);
        found = true;
        break;
      }
      if (!found)
        return MakeError(ENOTSUP,
                         "pid {} fd {}: epoll watches a file through fd {}, which the task closed, and the task "
                         "holds no other fd of that file: not supported",
                         pid, efd, t.tfd());
    }
    if (!used.insert(at).second)
      return MakeError(ENOTSUP,
                       "pid {} fd {}: epoll watches fd {} twice (through fds the task closed since): not supported",
                       pid, efd, at);
    t.set_tfd(at);
  }
  return {};
}

}  // namespace cryo
