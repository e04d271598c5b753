// The moments of a dump or restore that CRIU announces, by name, to its
// action scripts (--action-script) and to RPC clients (notify_scripts):
// pre-dump, network-lock, query-ext-files, post-dump, network-unlock;
// pre-restore, setup-namespaces, post-setup-namespaces, post-restore,
// pre-resume, post-resume. `pid` is the restored root's, where CRIU sends
// one. An error stops the operation there (the client said no).
#pragma once

#include <sys/types.h>

#include <string_view>

#include "engine/base/result.h"

namespace cryo {

class Notifier {
 public:
  virtual ~Notifier() = default;
  virtual Result<> Notify(std::string_view script, pid_t pid) = 0;
  // With an fd passed along (orphan-pts-master: a pty master).
  virtual Result<> NotifyFd(std::string_view script, int fd) {
    (void)fd;
    return Notify(script, 0);
  }
};

// Calls `n` when there is one.
inline Result<> Announce(Notifier* n, std::string_view script, pid_t pid = 0) {
  if (n == nullptr) return {};
  return n->Notify(script, pid);
}

}  // namespace cryo
