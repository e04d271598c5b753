// Reaching a cgroup hierarchy by its controllers, whatever cryo's own mount
// table or cgroup namespace looks like: a fresh mount of it that only cryo
// sees (fsopen/fsmount: detached, gone with its fd), or its directory in a
// cgroup yard (--cgroup-yard).
#pragma once

#include <string>
#include <vector>

#include "cgroups/membership.h"
#include "engine/base/result.h"
#include "engine/base/unique_fd.h"

namespace cryo::cgroups {

// The root of hierarchy `cnames` ({"cpu","cpuacct"}, {"name=systemd"}, {""}).
// With a yard: YARD/YardName(cnames), mounted there first when absent.
Result<UniqueFd> OpenHierarchy(const std::vector<std::string>& cnames, const std::string& yard);

// The hierarchies cryo itself is in, as CRIU lists them: one per line of
// /proc/self/cgroup, its real controllers only (named ones like
// name=systemd are added when a task uses them); cgroup2 as {""}.
// `keep` drops lines, as --cgroup-dump-controller does.
Result<std::vector<std::vector<std::string>>> OwnHierarchies(const std::function<bool(std::string_view)>& keep);

// A cgroup given by its path in the file system (--freeze-cgroup
// /sys/fs/cgroup/freezer/a): whether the mount is cgroup2, and the path
// within the hierarchy ("/a").
struct CgroupLocation {
  bool v2 = false;
  std::string fs_path;   // as given, without trailing '/'
  std::string path;      // within the hierarchy, "/" for its root
};
Result<CgroupLocation> Locate(const std::string& fs_path);

// "/a/b" -> "a/b", "/" -> ".": a name to use with openat on a hierarchy fd.
std::string Relative(std::string_view path);

}  // namespace cryo::cgroups
