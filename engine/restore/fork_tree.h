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
#include <map>
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
  // `new_pidns`: the root is PID 1 of a new pid namespace, and every pid
  // of the dump is a pid there; cryo knows the tasks by their pids in its
  // own (host()).
  // `tree_fd`: the tasks' fd for the root of the tree's own mount tree
  // (a session's terminal is opened there), -1 when it shares cryo's.
  static Result<RestoredTree> Fork(const ImageSet& s, uint64_t tramp, uint64_t scratch, Log& log,
                                   const Placed& placed = {}, bool sibling = false, bool new_pidns = false,
                                   int tree_fd = -1);
  RestoredTree(RestoredTree&&) noexcept = default;
  RestoredTree& operator=(RestoredTree&&) = delete;
  // Kills every process created unless Release() ran: a failed restore
  // leaves nothing half-alive.
  ~RestoredTree();

  // The remote handle of task i's leader (live tasks only).
  RemoteTask& leader(size_t i) { return *leaders_[i]; }
  // Task i's pid in cryo's pid namespace.
  pid_t host(size_t i) const { return host_[i]; }
  // A thread made later (its pid in the dump, and in cryo's namespace).
  void NoteThread(pid_t dumped, pid_t host) { host_threads_[dumped] = host; }
  // A pid of the dump as cryo sees it (0: not one of the tree's).
  pid_t HostOf(const ImageSet& s, pid_t dumped) const;

  // Lets every task run (threads included), stopping those dumped stopped;
  // `mask`, when given, is every thread's CPU mask from then on.
  Result<> Release(const ImageSet& s, const cpu_set_t* mask);

 private:
  RestoredTree() = default;
  void KillAll();
  Result<> CreateOrphan(const ImageSet& s, size_t i, size_t leader, uint64_t tramp, uint64_t scratch);

  std::vector<std::optional<RemoteTask>> leaders_;  // by task index
  std::vector<pid_t> created_;                      // in creation order, cryo's pids
  std::vector<pid_t> host_;                         // by task index
  std::map<pid_t, pid_t> host_threads_;             // dumped tid -> cryo's
  bool released_ = false;
};

}  // namespace cryo
