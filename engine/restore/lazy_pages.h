// A lazy restore (--lazy-pages): the pages of each process's lazy
// mappings (mem/pagemap_flags.h) are not loaded; a userfaultfd over those
// mappings goes to the lazy-pages daemon (mem/lazy_daemon.h), which fills
// them in as the tree runs.
#pragma once

#include <sys/types.h>

#include <string>
#include <vector>

#include "engine/base/result.h"
#include "engine/base/unique_fd.h"
#include "engine/restore/image_set.h"
#include "parasite/remote.h"

namespace cryo {

class LazyRestore {
 public:
  // The daemon listens in `work_dir`; it must be there before the tree is
  // made.
  static Result<LazyRestore> Connect(const std::string& work_dir);

  // Makes the process's userfaultfd: in the task (it binds the memory of
  // whoever makes it), while it still has cryo's credentials, taken into
  // cryo and closed there; registers the lazy mappings with it and hands
  // it to the daemon. Right after its pages are loaded: from then on the
  // kernel's own writes into those pages (rseq, thread ids, as the task
  // is built) wait for the daemon, which puts the dumped page there
  // first. Nothing to do without lazy pages.
  Result<> Prepare(RemoteTask& t, const TaskImages& ti);

  // Every process handed over, the tree about to run: returns once the
  // daemon has said it holds them all.
  Result<> Finish();
  // The tree runs: the daemon may now tell the dumping side when it is
  // done. When the daemon cannot be told, the tree is killed.
  Result<> Running();

 private:
  explicit LazyRestore(UniqueFd sock) : sock_(std::move(sock)) {}
  UniqueFd sock_;
  std::vector<UniqueFd> pidfds_;  // of the processes handed over
};

}  // namespace cryo
