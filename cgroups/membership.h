// Where a task sits in the cgroup hierarchies, as /proc/PID/task/TID/cgroup
// says: one member per hierarchy line ("4:cpu,cpuacct:/a", "9:name=systemd:/",
// "0::/b" for cgroup2), and the names that tie a line to its hierarchy.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "engine/base/result.h"

namespace cryo::cgroups {

struct CgMember {
  std::string name;  // the line's controller field: "cpu,cpuacct", "name=systemd", "" (cgroup2)
  std::string path;  // absolute within the hierarchy, as cryo sees it
  uint32_t cgns_prefix = 0;  // length of the part of `path` above the task's cgroup namespace root
  bool operator==(const CgMember&) const = default;
};
// Members sorted by name: equal sets compare equal.
using CgSet = std::vector<CgMember>;

// Parses a cgroup file. `keep`, when given, picks the lines to keep by name.
Result<CgSet> ParseCgroupFile(std::string_view text, const std::function<bool(std::string_view)>& keep = {});
Result<CgSet> ReadTaskCgroups(pid_t pid, pid_t tid, const std::function<bool(std::string_view)>& keep = {});

// "cpu,cpuacct" -> {"cpu", "cpuacct"}; "" (cgroup2) -> {""}.
std::vector<std::string> SplitNames(std::string_view name);
// Whether hierarchy `cnames` is the one a cgroup-file line named `name`
// stands for: every controller of it is in the line's list.
bool NamesHierarchy(const std::vector<std::string>& cnames, std::string_view name);
// Whether `name` (a controller, or a list of them) names any of `cnames`.
bool NamesAnyOf(const std::vector<std::string>& cnames, std::string_view name);
// The hierarchy's directory in a cgroup yard: "cpu,cpuacct", "systemd"
// (for name=systemd), "unified" (cgroup2).
std::string YardName(const std::vector<std::string>& cnames);
bool IsV2(const std::vector<std::string>& cnames);

// The cgroup namespace boundary of each member: `inside` is the same file
// read from within the task's cgroup namespace (paths relative to its
// root). Sets cgns_prefix on every member of `outside` whose path differs.
Result<> SetNamespacePrefixes(CgSet& outside, const CgSet& inside);

}  // namespace cryo::cgroups
