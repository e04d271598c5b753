// The pids a dump writes: a tree whose root is PID 1 of a pid namespace of
// its own is dumped with the pids its tasks have there (NSpid in
// /proc/PID/status: the last, innermost one), as CRIU writes them; cryo
// keeps using its own for /proc and ptrace. A group or session whose
// leader is outside the namespace is 0 there. Without such a namespace
// every pid is itself.
#pragma once

#include <sys/types.h>

#include <map>
#include <vector>

#include "engine/base/result.h"
#include "engine/dump/tree.h"

namespace cryo {

class PidMap {
 public:
  // Refuses a root in its own pid namespace that is not PID 1 there, and
  // tasks in any other pid namespace (nested ones included).
  static Result<PidMap> Build(const std::vector<TreeTask>& tasks);
  bool own_ns() const { return own_ns_; }
  // A pid (or tid) of cryo's as the dump writes it; 0 for a pid that is
  // not in the tree's namespace.
  pid_t Dumped(pid_t host) const;
  // Group and session ids as the task sees them.
  pid_t Pgid(const TreeTask& t) const;
  pid_t Sid(const TreeTask& t) const;

 private:
  bool own_ns_ = false;
  std::map<pid_t, pid_t> pids_;                   // host -> dumped
  std::map<pid_t, std::pair<pid_t, pid_t>> ids_;  // host pid -> (pgid, sid) inside
};

}  // namespace cryo
