// What a dump records about cgroups (cgroup.img): each distinct membership
// of the dumped threads as a set, and, for every hierarchy a set places a
// task in below its root, the directory tree from that cgroup down (empty
// cgroups included) with the properties CRIU records. cryo's own set is
// set 1, left out of the image: a task in it is restored wherever the
// restoring cryo is. A dump whose tasks are all in cryo's own set writes
// no cgroup.img, as CRIU does.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <vector>

#include "cgroups/hierarchy.h"
#include "cgroups/membership.h"
#include "cgroups/properties.h"
#include "engine/base/log.h"
#include "engine/base/result.h"
#include "engine/options/options.h"

namespace cryo::cgroups {

class CgroupDumper {
 public:
  static Result<CgroupDumper> Make(const Options& opts);

  static constexpr uint32_t kOwnSet = 1;
  // The dump's root: in a cgroup namespace of its own, where that
  // namespace's root is in each hierarchy (cgns_prefix), for every set.
  Result<> SetRoot(pid_t root);
  // The set of thread `tid` of process `pid`, added when new.
  Result<uint32_t> SetOf(pid_t pid, pid_t tid);
  // The --freeze-cgroup cgroup and whether it was frozen before the dump:
  // recorded as its freezer state, restored last.
  void NoteFreezer(const CgroupLocation& where, bool was_frozen) {
    freezer_ = where;
    was_frozen_ = was_frozen;
  }
  // Writes cgroup.img into the images directory (nothing to write: no file).
  Result<> Write(int dir, Log& log) const;

 private:
  CgroupDumper(const Options& o, PropertyLists p) : opts_(&o), props_(std::move(p)) {}
  bool Keep(std::string_view name) const;

  const Options* opts_;
  PropertyLists props_;
  std::vector<CgSet> sets_;  // set id i+1
  CgSet ns_roots_;           // per hierarchy: the root's cgroup namespace root (in cgns_prefix)
  std::optional<CgroupLocation> freezer_;
  bool was_frozen_ = false;
};

}  // namespace cryo::cgroups
