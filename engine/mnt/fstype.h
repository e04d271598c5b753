// The filesystem kinds of mnt_entry.fstype (CRIU's numbers) and what cryo
// does with each on restore.
#pragma once

#include <cstdint>
#include <string_view>

namespace cryo::mnt {

enum class Fstype : uint32_t {
  kUnsupported = 0, kProc = 1, kSysfs = 2, kDevtmpfs = 3, kBinfmtMisc = 4, kTmpfs = 5, kDevpts = 6,
  kSimfs = 7, kPstore = 8, kSecurityfs = 9, kFusectl = 10, kDebugfs = 11, kCgroup = 12, kAufs = 13,
  kMqueue = 14, kFuse = 15, kAuto = 16, kOverlayfs = 17, kAutofs = 18, kTracefs = 19, kCgroup2 = 23,
};

// The kind of a filesystem by its name in mountinfo; kUnsupported if cryo
// cannot make one (those must be external or enabled with --enable-fs).
Fstype FstypeOf(std::string_view name);
// The name to fsopen a kind by ("" for kUnsupported, kAuto, kFuse, ...).
std::string_view FstypeName(Fstype t);

// A filesystem restore makes anew (with the dumped options) rather than
// binding from somewhere: virtual ones, and those --enable-fs names (kAuto).
bool MadeAnew(Fstype t);

}  // namespace cryo::mnt
