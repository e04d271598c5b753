// Which files of a cgroup directory a dump records, and how their values
// are read and written back. The lists are CRIU's (per controller, plus the
// global ones of v1 and of cgroup2), changed by --cgroup-props and
// --cgroup-props-file in CRIU's format:
//
//   "cpu":
//    - "strategy": "replace"      (or "merge": add to the built-in list)
//    - "properties": ["cpu.shares", "cpu.cfs_quota_us"]
#pragma once

#include <sys/stat.h>

#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "engine/base/result.h"

namespace cryo::cgroups {

class PropertyLists {
 public:
  // The built-in lists, then `stream`, then the file at `path` (if any).
  static Result<PropertyLists> Make(std::string_view stream, const std::string& path);
  // The files to record in a directory of hierarchy `cnames`.
  std::vector<std::string> For(const std::vector<std::string>& cnames) const;
  const std::vector<std::string>* Of(const std::string& controller) const;

 private:
  Result<> Parse(std::string_view stream);
  std::map<std::string, std::vector<std::string>> lists_;
};

// Properties written when their directory is created, before anything
// joins it (cpuset.cpus: a task cannot join a cpuset without cpus, ...).
bool IsSpecialProperty(std::string_view name);
// Properties that say whether the cgroup is frozen: restored last, just
// before the tasks are let go.
bool IsFreezerProperty(std::string_view name);

struct PropertyValue {
  std::string value;
  struct stat st {};
};
// Reads property `name` of the directory `dirfd`, as CRIU records it:
// trailing newline cut, LLONG_MAX as "-1", memory.oom_control as its
// oom_kill_disable flag, cgroup.procs and tasks as "" (only their
// permissions matter). ENOENT when the kernel has no such file.
Result<PropertyValue> ReadProperty(int dirfd, const std::string& name);
// Writes it back: devices.list through devices.deny/allow, one line per
// write where the kernel wants it, cgroup.subtree_control as +/- changes.
Result<> WriteProperty(int dirfd, const std::string& name, const std::string& value);

}  // namespace cryo::cgroups
