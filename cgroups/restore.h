// Putting restored tasks back into their cgroups (cgroup.img), as
// --manage-cgroups says:
//   none    the cgroups must exist; no property is written
//   props   the cgroups must exist; their properties are written
//   soft    missing cgroups are created with their properties; existing
//           ones are left as they are (the default)
//   full    missing cgroups are created; every cgroup gets its properties
//   strict  no cgroup may exist yet; all are created with their properties
//   ignore  cgroups are not touched: tasks stay in cryo's own
// --cgroup-root [CTRL:]PATH puts the dumped tree's cgroups under PATH.
// Each process is moved before it has children, so they are born where
// they belong; threads in another cgroup (v1, v2 threaded) are moved one
// by one. The freezer state goes last, just before the tasks run. A
// restore that fails removes the cgroups it created.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "cgroups/membership.h"
#include "engine/base/log.h"
#include "engine/base/result.h"
#include "engine/base/unique_fd.h"
#include "engine/image/proto/cgroup.pb.h"
#include "engine/options/options.h"

namespace cryo::cgroups {

class CgroupRestorer {
 public:
  // `own_set`: the set the dump's cryo was in (inventory root_cg_set):
  // tasks in it go where this cryo is.
  static Result<CgroupRestorer> Prepare(const Options& opts, int images_dir, uint32_t own_set, Log& log);
  CgroupRestorer(CgroupRestorer&&) noexcept = default;
  CgroupRestorer& operator=(CgroupRestorer&&) = delete;
  ~CgroupRestorer();

  // Moves process `pid` into set `set`; `born_in` is the set it was born
  // in (its parent's), where nothing needs moving. Set 0: leave it.
  Result<> MoveProcess(pid_t pid, uint32_t set, uint32_t born_in);
  // The same for the root, which also gets the dumped cgroup namespace:
  // moved into the namespace's root cgroups first, `unshare` run (it
  // unshares the root's cgroup namespace there), then moved on below.
  Result<> MoveRoot(pid_t pid, uint32_t set, uint32_t born_in, const std::function<Result<>()>& unshare);
  // Moves thread `tid` where it differs from its leader's set.
  Result<> MoveThread(pid_t tid, uint32_t set, uint32_t leader_set);
  // Every property still to write, but the freezer's.
  Result<> ApplyProperties();
  // Freezes the cgroups that were frozen (freezer.state, cgroup.freeze).
  Result<> ApplyFreezer();
  // The restore succeeded: created cgroups stay.
  void Commit() { committed_ = true; }

 private:
  struct Prop {
    std::string hierarchy;  // name key of hier_
    std::string dir;        // path in the hierarchy
    img::cgroup_prop_entry entry;
  };
  CgroupRestorer(const Options& o, Log& log) : opts_(&o), log_(&log) {}
  Result<> RewriteRoots();
  Result<int> HierarchyFd(const std::string& name);
  std::optional<std::vector<std::string>> CnamesOf(const std::string& name) const;
  Result<const CgSet*> Set(uint32_t id) const;
  // Makes `rel` and its missing parents in the hierarchy (remembered, to
  // remove them again should the restore fail).
  Result<> MakePath(const std::string& hname, int hfd, const std::string& rel);
  Result<> PrepareDir(const std::string& hname, int hfd, const std::string& path, const img::cgroup_dir_entry& e);
  Result<> Write(const Prop& p);
  Result<> Enter(pid_t pid, const std::string& name, const std::string& path, const char* file);

  const Options* opts_;
  Log* log_;
  bool active_ = false;
  img::cgroup_entry image_;
  std::map<uint32_t, CgSet> sets_;
  CgSet own_now_;
  uint32_t own_set_ = 0;
  std::map<std::string, UniqueFd> hier_;  // by cgroup-file name ("cpu", "name=systemd", "")
  std::vector<Prop> props_, freezer_;
  std::vector<std::pair<std::string, std::string>> created_;  // hierarchy, path; in creation order
  bool committed_ = false;
};

}  // namespace cryo::cgroups
