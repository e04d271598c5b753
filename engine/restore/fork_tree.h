// Creating the processes of a dump before any is built: the root forked by
// cryo, every other process by its own parent (a remote clone3 with the
// dumped pid, sharing the fd table or fs where the dump says so), sessions
// and process groups set up as they were, zombies made to exit with their
// status. Every live process ends up stopped under cryo's ptrace at the
// trampoline, still a copy of cryo, ready to be built.
#pragma once

#include <sched.h>
#include <sys/types.h>

#include <cstdint>
#include <functional>
#include <optional>
#include <vector>

#include "engine/base/log.h"
#include "engine/base/result.h"
#include "engine/restore/image_set.h"
#include "parasite/remote.h"

namespace cryo {

class RestoredTree {
 public:
  // `scratch` is memory in the trampoline area for syscall arguments.
  // `placed(i, pid)` runs as soon as task i exists, before it has children
  // (cgroups: they are born where it is).
  using Placed = std::function<Result<>(size_t index, RemoteTask& task)>;
  // `sibling`: the root is a child of cryo's parent (--restore-sibling,
  // RPC rst_sibling: runc waits on it), not of cryo.
  static Result<RestoredTree> Fork(const ImageSet& s, uint64_t tramp, uint64_t scratch, Log& log,
                                   const Placed& placed = {}, bool sibling = false);
  RestoredTree(RestoredTree&&) noexcept = default;
  RestoredTree& operator=(RestoredTree&&) = delete;
  // Kills every process created unless Release() ran: a failed restore
  // leaves nothing half-alive.
  ~RestoredTree();

  // The remote handle of task i's leader (live tasks only).
  RemoteTask& leader(size_t i) { return *leaders_[i]; }

  // Lets every task run (threads included), stopping those dumped stopped;
  // `mask`, when given, is every thread's CPU mask from then on.
  Result<> Release(const ImageSet& s, const cpu_set_t* mask);

 private:
  RestoredTree() = default;
  void KillAll();

  std::vector<std::optional<RemoteTask>> leaders_;  // by task index
  std::vector<pid_t> created_;                      // in creation order
  bool released_ = false;
};

}  // namespace cryo
