// --freeze-cgroup: the whole container stopped at once, before any task is
// seized, so nothing forks or exits while cryo walks the tree. The cgroup
// (v1 freezer.state or v2 cgroup.freeze, told apart by which file it has)
// is frozen, unless it already was (runc pause, containerd's checkpoint),
// and waited for up to the timeout. Every thread in it and below is then
// seized and interrupted while frozen, and the cgroup thawed: each thread
// enters its ptrace stop as it wakes, before running a single user
// instruction. When the dump is over the cgroup goes back to how it was
// found: frozen again before the tasks are let go, if it was frozen.
#pragma once

#include <sys/types.h>

#include <map>
#include <set>
#include <string>

#include "cgroups/hierarchy.h"
#include "engine/base/log.h"
#include "engine/base/result.h"
#include "engine/base/unique_fd.h"

namespace cryo::cgroups {

enum class FreezerState { kThawed, kFreezing, kFrozen };

class Freezer {
 public:
  static Result<Freezer> FreezeAndSeize(const std::string& path, unsigned timeout_s, Log& log);
  Freezer(Freezer&& o) noexcept;
  Freezer& operator=(Freezer&&) = delete;
  // Unless Finish() ran: the cgroup is put back as it was, threads that
  // were never taken over are let go.
  ~Freezer();

  const CgroupLocation& where() const { return where_; }
  bool was_frozen() const { return was_frozen_; }
  // Threads seized and interrupted here: their stop is still to be waited for.
  const std::set<pid_t>& held() const { return held_; }
  // The dump took these threads over (waits for their stops itself).
  void TakenOver(pid_t tid) { held_.erase(tid); }
  // Threads held but not part of the dump: their stops are waited for,
  // and they stay stopped until Finish().
  Result<> HoldOthers();
  // Freezes again if it was frozen (`refreeze` false: the tasks are being
  // killed), then lets the other threads go.
  Result<> Finish(bool refreeze);

 private:
  Freezer(CgroupLocation w, Log& log) : where_(std::move(w)), log_(&log) {}
  Result<FreezerState> State() const;
  Result<> Set(bool frozen) const;
  Result<> SeizeAll(const std::string& dir);

  CgroupLocation where_;
  Log* log_;
  bool was_frozen_ = false;
  bool finished_ = false;
  std::set<pid_t> held_;
  std::set<pid_t> others_;  // held, stopped, not dumped
};

// The frozen cgroup task `pid` is in, if any ("" when none): seizing it
// without --freeze-cgroup would wait for ever.
class FrozenCheck {
 public:
  std::string FrozenCgroupOf(pid_t pid);

 private:
  int Hierarchy(bool v2);
  UniqueFd v1_, v2_;
  bool tried_v1_ = false, tried_v2_ = false;
  std::map<std::string, bool> known_;  // "v1:/path" or "v2:/path" -> frozen
};

}  // namespace cryo::cgroups
