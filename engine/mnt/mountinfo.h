// /proc/PID/mountinfo, parsed: one record per mount, in the order they
// joined the namespace, with a mount listed before its parent moved to
// right after it (see ParentsFirst).
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "engine/base/result.h"

namespace cryo::mnt {

struct MountInfo {
  uint32_t id = 0, parent = 0;
  uint32_t dev = 0;         // kernel encoding, (major << 20) | minor
  std::string root;         // the part of its filesystem it shows
  bool deleted = false;     // that part was removed since ("//deleted" after root)
  std::string mountpoint;   // relative to the reader's root
  uint32_t flags = 0;       // per-mount MS_* (ro, nosuid, nodev, noexec, atime; MS_UNBINDABLE)
  uint32_t shared = 0, master = 0;  // peer group ids (0: none)
  std::string fstype, source;
  uint32_t sb_flags = 0;    // superblock MS_RDONLY, MS_SYNCHRONOUS, ...
  std::string options;      // the superblock options but those in sb_flags
};

// The order to take mounts in, given each one's (id, parent id), so that
// every mount comes after its parent. The kernel lists a namespace's
// mounts in the order they joined it, and a mount moved onto a later one
// keeps its place: LXC binds /proc/sys/net, then /proc/sys read-only over
// it, then moves the first back on top. Such a mount is taken right after
// its parent (with its own children); the others keep their order. A mount
// whose parent is itself or absent is a root; mounts in a parent cycle
// come last, in their order, for the caller to refuse.
std::vector<size_t> ParentsFirst(const std::vector<std::pair<uint32_t, uint32_t>>& id_parent);

// Parses the text of a mountinfo file; a malformed line is an error naming it.
Result<std::vector<MountInfo>> ParseMountInfo(std::string_view text);
Result<std::vector<MountInfo>> ReadMountInfo(pid_t pid);  // 0: cryo's own

// "a\040b" -> "a b": mountinfo escapes space, tab, newline and backslash.
std::string Unescape(std::string_view s);

// Whether `path` is `prefix` or below it; and then the rest of it:
// RelativeTo("/a/b", "/a") == "b", RelativeTo("/a", "/a") == "".
bool IsBelow(std::string_view path, std::string_view prefix);
// The mount among `mounts` of superblock `dev` whose root is nearest
// above `root` (what a bind of `root` came from), or null.
const MountInfo* MountShowing(const std::vector<MountInfo>& mounts, uint32_t dev, std::string_view root);
std::string RelativeTo(std::string_view path, std::string_view prefix);

}  // namespace cryo::mnt
