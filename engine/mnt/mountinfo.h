// /proc/PID/mountinfo, parsed: one record per mount, in the order the
// kernel lists them (the order they were mounted, parents first).
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "engine/base/result.h"

namespace cryo::mnt {

struct MountInfo {
  uint32_t id = 0, parent = 0;
  uint32_t dev = 0;         // kernel encoding, (major << 20) | minor
  std::string root;         // the part of its filesystem it shows
  std::string mountpoint;   // relative to the reader's root
  uint32_t flags = 0;       // per-mount MS_* (ro, nosuid, nodev, noexec, atime; MS_UNBINDABLE)
  uint32_t shared = 0, master = 0;  // peer group ids (0: none)
  std::string fstype, source;
  uint32_t sb_flags = 0;    // superblock MS_RDONLY, MS_SYNCHRONOUS, ...
  std::string options;      // the superblock options but those in sb_flags
};

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
