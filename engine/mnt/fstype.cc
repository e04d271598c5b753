#include "engine/mnt/fstype.h"

namespace cryo::mnt {
namespace {

struct Known {
  std::string_view name;
  Fstype type;
};
constexpr Known kKnown[] = {
    {"proc", Fstype::kProc},         {"sysfs", Fstype::kSysfs},           {"devtmpfs", Fstype::kDevtmpfs},
    {"binfmt_misc", Fstype::kBinfmtMisc}, {"tmpfs", Fstype::kTmpfs},     {"devpts", Fstype::kDevpts},
    {"pstore", Fstype::kPstore},     {"securityfs", Fstype::kSecurityfs}, {"fusectl", Fstype::kFusectl},
    {"debugfs", Fstype::kDebugfs},   {"cgroup", Fstype::kCgroup},         {"mqueue", Fstype::kMqueue},
    {"overlay", Fstype::kOverlayfs}, {"autofs", Fstype::kAutofs},         {"tracefs", Fstype::kTracefs},
    {"cgroup2", Fstype::kCgroup2},
};

}  // namespace

Fstype FstypeOf(std::string_view name) {
  for (const Known& k : kKnown)
    if (k.name == name) return k.type;
  if (name.starts_with("fuse")) return Fstype::kFuse;
  return Fstype::kUnsupported;
}

std::string_view FstypeName(Fstype t) {
  for (const Known& k : kKnown)
    if (k.type == t) return k.name;
  return "";
}

bool MadeAnew(Fstype t) {
  switch (t) {
    case Fstype::kProc: case Fstype::kSysfs: case Fstype::kBinfmtMisc: case Fstype::kTmpfs:
    case Fstype::kDevpts: case Fstype::kPstore: case Fstype::kSecurityfs: case Fstype::kFusectl:
    case Fstype::kDebugfs: case Fstype::kCgroup: case Fstype::kMqueue: case Fstype::kOverlayfs:
    case Fstype::kTracefs: case Fstype::kCgroup2: case Fstype::kAuto:
      return true;
    default:
      return false;
  }
}

}  // namespace cryo::mnt
