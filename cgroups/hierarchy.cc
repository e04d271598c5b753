#include "cgroups/hierarchy.h"

#include <fcntl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>

#include "engine/base/files.h"

namespace cryo::cgroups {
namespace {

Result<UniqueFd> MountDetached(const std::vector<std::string>& cnames) {
  bool v2 = IsV2(cnames);
  UniqueFd fs(::fsopen(v2 ? "cgroup2" : "cgroup", FSOPEN_CLOEXEC));
  if (!fs) return ErrnoError("fsopen {}", v2 ? "cgroup2" : "cgroup");
  if (!v2) {
    for (const auto& c : cnames) {
      int r = c.starts_with("name=") ? ::fsconfig(fs.get(), FSCONFIG_SET_STRING, "name", c.c_str() + 5, 0)
                                     : ::fsconfig(fs.get(), FSCONFIG_SET_FLAG, c.c_str(), nullptr, 0);
      if (r != 0) return ErrnoError("cgroup controller '{}' is not available on this host", c);
    }
  }
  if (::fsconfig(fs.get(), FSCONFIG_CMD_CREATE, nullptr, nullptr, 0) != 0)
    return ErrnoError("cgroup hierarchy '{}' cannot be mounted here", YardName(cnames));
  UniqueFd mnt(::fsmount(fs.get(), FSMOUNT_CLOEXEC, 0));
  if (!mnt) return ErrnoError("fsmount cgroup hierarchy '{}'", YardName(cnames));
  return mnt;
}

}  // namespace

Result<UniqueFd> OpenHierarchy(const std::vector<std::string>& cnames, const std::string& yard) {
  if (cnames.empty()) return MakeError(EINVAL, "a cgroup hierarchy with no controllers");
  if (yard.empty()) return MountDetached(cnames);
  std::string dir = yard + "/" + YardName(cnames);
  struct stat st;
  if (::stat(dir.c_str(), &st) == 0) return Open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  {
    // As CRIU does: the yard gets the hierarchy mounted in it.
    if (::mkdir(dir.c_str(), 0700) != 0) return ErrnoError("mkdir {}", dir);
    bool v2 = IsV2(cnames);
    std::string opts;
    for (const auto& c : cnames) {
      if (v2) break;
      if (!opts.empty()) opts += ',';
      if (c.starts_with("name=")) opts += "none,";
      opts += c;
    }
    if (::mount("none", dir.c_str(), v2 ? "cgroup2" : "cgroup", 0, opts.empty() ? nullptr : opts.c_str()) != 0) {
      int e = errno;
      ::rmdir(dir.c_str());
      errno = e;
      return ErrnoError("mount cgroup hierarchy '{}' on {}", YardName(cnames), dir);
    }
  }
  // What cryo made in the yard goes at once, whatever comes next: the fd
  // keeps the detached mount alive for as long as it is used.
  auto fd = Open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  ::umount2(dir.c_str(), MNT_DETACH);
  ::rmdir(dir.c_str());
  return fd;
}

Result<std::vector<std::vector<std::string>>> OwnHierarchies(const std::function<bool(std::string_view)>& keep) {
  std::string text = CRYO_TRY(ReadFile("/proc/self/cgroup"));
  CgSet own = CRYO_TRY(ParseCgroupFile(text, keep));
  std::vector<std::vector<std::string>> out;
  for (const auto& m : own) {
    std::vector<std::string> real;
    for (auto& n : SplitNames(m.name))
      if (!n.starts_with("name=")) real.push_back(std::move(n));
    if (!real.empty()) out.push_back(std::move(real));
  }
  return out;
}

Result<CgroupLocation> Locate(const std::string& fs_path) {
  CgroupLocation loc;
  loc.fs_path = fs_path;
  while (loc.fs_path.size() > 1 && loc.fs_path.back() == '/') loc.fs_path.pop_back();
  struct stat st;
  if (::stat(loc.fs_path.c_str(), &st) != 0) return ErrnoError("cgroup {}", fs_path);
  if (!S_ISDIR(st.st_mode)) return MakeError(ENOTDIR, "cgroup {}: not a directory", fs_path);
  // The mount it is on: the longest cgroup mount point that prefixes it.
  std::string info = CRYO_TRY(ReadFile("/proc/self/mountinfo"));
  size_t best = 0;
  std::string_view s = info;
  while (!s.empty()) {
    size_t nl = s.find('\n');
    std::string_view line = s.substr(0, nl);
    s = nl == std::string_view::npos ? std::string_view() : s.substr(nl + 1);
    // id parent maj:min root mountpoint opts ... - fstype source superopts
    std::vector<std::string_view> f;
    for (size_t p = 0; p < line.size();) {
      size_t q = line.find(' ', p);
      if (q == std::string_view::npos) q = line.size();
      f.push_back(line.substr(p, q - p));
      p = q + 1;
    }
    auto dash = std::find(f.begin(), f.end(), "-");
    if (f.size() < 5 || dash == f.end() || dash + 1 == f.end()) continue;
    std::string_view fstype = *(dash + 1);
    if (fstype != "cgroup" && fstype != "cgroup2") continue;
    std::string_view mp = f[4], root = f[3];
    bool under = loc.fs_path == mp || (loc.fs_path.starts_with(mp) && loc.fs_path[mp.size()] == '/');
    if (!under || mp.size() < best) continue;
    best = mp.size();
    loc.v2 = fstype == "cgroup2";
    std::string rest = loc.fs_path.substr(mp.size());
    std::string r(root == "/" ? "" : root);
    loc.path = r + rest;
    if (loc.path.empty()) loc.path = "/";
  }
  if (best == 0) return MakeError(EINVAL, "{} is not on a cgroup file system", fs_path);
  // Collapse "//" (LXC writes /sys/fs/cgroup/freezer//lxc.payload.c).
  std::string clean;
  for (char c : loc.path)
    if (!(c == '/' && !clean.empty() && clean.back() == '/')) clean += c;
  if (clean.size() > 1 && clean.back() == '/') clean.pop_back();
  loc.path = clean;
  return loc;
}

std::string Relative(std::string_view path) {
  while (!path.empty() && path[0] == '/') path.remove_prefix(1);
  return path.empty() ? std::string(".") : std::string(path);
}

}  // namespace cryo::cgroups
