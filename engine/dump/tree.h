// The process tree under a root: every descendant seized (all its threads
// stopped) in pre-order, parents before children, and zombies recorded as
// they are. Children are listed only once their parent is stopped, so no
// process can appear behind our back.
#pragma once

#include <sys/types.h>

#include <optional>
#include <set>
#include <vector>

#include "cgroups/freezer.h"
#include "engine/base/log.h"
#include "engine/base/result.h"
#include "engine/dump/seize.h"

namespace cryo {

struct TreeTask {
  pid_t pid = 0, ppid = 0, pgid = 0, sid = 0;
  int parent = -1;                   // index in the tree; -1 for the root
  std::optional<SeizedProcess> live;  // empty for a zombie
  int exit_code = 0;                  // a zombie's wait status (/proc stat field 52)
  bool zombie() const { return !live.has_value(); }
};

// How the tree is to be stopped besides ptrace itself.
struct SeizeHelp {
  // Threads the cgroup freezer already seized and interrupted.
  const std::set<pid_t>* held = nullptr;
  // Without the freezer: a task in a frozen cgroup would never stop for
  // ptrace; this finds it first, so the dump fails instead of hanging.
  cgroups::FrozenCheck* frozen = nullptr;
};

class SeizedTree {
 public:
  // `cpu`: as SeizedProcess::Seize.
  static Result<SeizedTree> Seize(pid_t root, Log& log, int cpu = -1, SeizeHelp help = {});
  SeizedTree(SeizedTree&&) noexcept = default;
  SeizedTree& operator=(SeizedTree&&) = delete;
  // Whatever is still held is resumed by the tasks' own destructors.
  ~SeizedTree() = default;

  std::vector<TreeTask>& tasks() { return tasks_; }
  const std::vector<TreeTask>& tasks() const { return tasks_; }

  // Resumes, stops or kills every task. Killing waits (a bounded while)
  // until the killed descendants' pids are free again.
  Result<> Release(ReleaseMode mode);

 private:
  SeizedTree(Log& log, int cpu, SeizeHelp help) : log_(&log), cpu_(cpu), help_(help) {}
  Result<> Add(pid_t pid, int parent);

  Log* log_;
  int cpu_;
  SeizeHelp help_;
  std::vector<TreeTask> tasks_;
};

}  // namespace cryo
