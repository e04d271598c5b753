#include "cgroups/restore.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <optional>

#include "cgroups/hierarchy.h"
#include "cgroups/properties.h"
#include "engine/base/files.h"
#include "engine/image/image_reader.h"

namespace cryo::cgroups {
namespace {

bool UnderDir(std::string_view path, std::string_view dir) {
  // `dir` as in the image: no leading '/'; "" is the hierarchy's root.
  path.remove_prefix(1);
  if (dir.empty()) return true;
  return path == dir || (path.starts_with(dir) && path[dir.size()] == '/');
}

std::string Join(const std::string& dir, const std::string& name) { return dir == "/" ? "/" + name : dir + "/" + name; }

const char* ModeName(CgroupMode m) {
  switch (m) {
    case CgroupMode::kNone: return "none";
    case CgroupMode::kProps: return "props";
    case CgroupMode::kFull: return "full";
    case CgroupMode::kStrict: return "strict";
    case CgroupMode::kIgnore: return "ignore";
    default: return "soft";
  }
}

Result<> ApplyPerms(int fd, const img::cgroup_perms& p, const std::string& what) {
  if (::fchown(fd, p.uid(), p.gid()) != 0) return ErrnoError("chown {}", what);
  if (::fchmod(fd, p.mode() & 07777) != 0) return ErrnoError("chmod {}", what);
  return {};
}

}  // namespace

Result<CgroupRestorer> CgroupRestorer::Prepare(const Options& opts, int images_dir, uint32_t own_set, Log& log) {
  CgroupRestorer r(opts, log);
  r.own_set_ = own_set;
  if (opts.manage_cgroups_mode == CgroupMode::kIgnore) return r;
  ImageReader img = CRYO_TRY(ImageReader::Open(images_dir, ImageKind::kCgroup));
  if (!img.present() || !CRYO_TRY(img.Next(r.image_))) return r;
  r.active_ = true;
  for (const auto& se : r.image_.sets()) {
    CgSet set;
    for (const auto& m : se.ctls()) set.push_back({m.name(), m.path(), m.cgns_prefix()});
    if (!r.sets_.emplace(se.id(), std::move(set)).second) return MakeError(EINVAL, "cgroup.img: set {} twice", se.id());
  }
  std::string own = CRYO_TRY(ReadFile("/proc/self/cgroup"));
  r.own_now_ = CRYO_TRY(ParseCgroupFile(own));
  CRYO_TRY(r.RewriteRoots());
  for (const auto& [id, set] : r.sets_)
    for (const auto& m : set) {
      if (m.path.empty() || m.path[0] != '/' || m.path.find("/../") != std::string::npos ||
          m.path.ends_with("/.."))
        return MakeError(EINVAL, "cgroup.img: set {}: bad path '{}'", id, m.path);
      if (!r.CnamesOf(m.name)) return MakeError(EINVAL, "cgroup.img: set {}: no hierarchy '{}'", id, m.name);
      CRYO_TRY(r.HierarchyFd(m.name));
    }
  // The directories, checked or created as the mode says.
  for (const auto& ctl : r.image_.controllers()) {
    if (ctl.dirs_size() == 0) continue;
    std::string key;
    for (const auto& c : ctl.cnames()) key += (key.empty() ? "" : ",") + c;
    int hfd = CRYO_TRY(r.HierarchyFd(key));
    for (const auto& d : ctl.dirs()) {
      if (d.dir_name().find("..") != std::string::npos)
        return MakeError(EINVAL, "cgroup.img: bad directory '{}'", d.dir_name());
      CRYO_TRY(r.PrepareDir(key, hfd, d.dir_name().empty() ? "/" : "/" + d.dir_name(), d));
    }
  }
  // A member's cgroup no directory recorded (the cgroup cryo was in, or a
  // --cgroup-root moved it): made when the mode lets cryo make cgroups.
  CgroupMode mode = opts.manage_cgroups_mode;
  if (mode != CgroupMode::kNone && mode != CgroupMode::kProps)
    for (const auto& [id, set] : r.sets_)
      for (const auto& m : set) CRYO_TRY(r.MakePath(m.name, CRYO_TRY(r.HierarchyFd(m.name)), Relative(m.path)));
  log.Info("cgroups: {} set(s), mode {}, {} cgroup(s) created", r.sets_.size(), ModeName(opts.manage_cgroups_mode),
           r.created_.size());
  return r;
}

CgroupRestorer::~CgroupRestorer() {
  if (committed_) return;
  for (auto it = created_.rbegin(); it != created_.rend(); ++it) {
    auto h = hier_.find(it->first);
    if (h != hier_.end()) ::unlinkat(h->second.get(), Relative(it->second).c_str(), AT_REMOVEDIR);
  }
}

std::optional<std::vector<std::string>> CgroupRestorer::CnamesOf(const std::string& name) const {
  for (const auto& ctl : image_.controllers()) {
    std::vector<std::string> cnames(ctl.cnames().begin(), ctl.cnames().end());
    if (NamesHierarchy(cnames, name)) return cnames;
  }
  return std::nullopt;
}

Result<int> CgroupRestorer::HierarchyFd(const std::string& name) {
  if (auto it = hier_.find(name); it != hier_.end()) return it->second.get();
  std::vector<std::string> cnames = CnamesOf(name).value_or(SplitNames(name));
  UniqueFd fd = CRYO_TRY(OpenHierarchy(cnames, opts_->CgroupYard()));
  int raw = fd.get();
  hier_.emplace(name, std::move(fd));
  return raw;
}

namespace {

// `root` + `rest` ("" or "/..."), "/" staying itself.
std::string Rebase(const std::string& root, std::string_view rest) {
  if (root == "/") return rest.empty() ? "/" : std::string(rest);
  return root + std::string(rest);
}

}  // namespace

Result<> CgroupRestorer::RewriteRoots() {
  if (opts_->cgroup_root.empty()) return {};
  for (auto& ctl : *image_.mutable_controllers()) {
    std::vector<std::string> cnames(ctl.cnames().begin(), ctl.cnames().end());
    const std::string* newroot = nullptr;
    for (const auto& o : opts_->cgroup_root) {
      if (!o.ctrl || !NamesAnyOf(cnames, *o.ctrl)) continue;
      if (newroot && *newroot != o.path)
        return MakeError(EINVAL, "--cgroup-root: two roots for {}: {} and {}", YardName(cnames), *newroot, o.path);
      newroot = &o.path;
    }
    for (const auto& o : opts_->cgroup_root)
      if (!o.ctrl && !newroot) newroot = &o.path;
    if (!newroot) continue;
    std::string root = *newroot;
    while (root.size() > 1 && root.back() == '/') root.pop_back();
    if (root.empty() || root[0] != '/' || root.find("..") != std::string::npos)
      return MakeError(EINVAL, "--cgroup-root {}: not an absolute path", root);
    // What moves to the new root: the head directory a member is under (its
    // own cgroup when none was recorded), or, in a cgroup namespace, the
    // namespace's root, keeping what lies below it.
    auto old_root = [&](const CgMember& m) {
      if (m.cgns_prefix > 0 && m.cgns_prefix <= m.path.size()) return m.path.substr(0, m.cgns_prefix);
      for (const auto& d : ctl.dirs())
        if (UnderDir(m.path, d.dir_name())) return d.dir_name().empty() ? std::string("/") : "/" + d.dir_name();
      return m.path;
    };
    std::vector<std::string> moved_dirs;
    for (const auto& d : ctl.dirs()) {
      std::string head = d.dir_name().empty() ? "/" : "/" + d.dir_name();
      std::string moved = root;
      for (const auto& [id, set] : sets_)
        for (const auto& m : set)
          if (NamesHierarchy(cnames, m.name) && m.cgns_prefix > 0 && UnderDir(m.path, d.dir_name()) &&
              m.cgns_prefix <= head.size())
            moved = Rebase(root, std::string_view(head).substr(m.cgns_prefix));
      moved_dirs.push_back(moved.substr(1));
    }
    for (auto& [id, set] : sets_)
      for (auto& m : set) {
        if (!NamesHierarchy(cnames, m.name)) continue;
        std::string old = old_root(m);
        m.path = Rebase(root, old == "/" ? std::string_view(m.path) : std::string_view(m.path).substr(old.size()));
        if (m.path.size() > 1 && m.path.back() == '/') m.path.pop_back();
        if (m.cgns_prefix > 0) m.cgns_prefix = static_cast<uint32_t>(root == "/" ? 0 : root.size());
      }
    for (int i = 0; i < ctl.dirs_size(); i++) ctl.mutable_dirs(i)->set_dir_name(moved_dirs[static_cast<size_t>(i)]);
  }
  return {};
}

Result<> CgroupRestorer::PrepareDir(const std::string& hname, int hfd, const std::string& path,
                                    const img::cgroup_dir_entry& e) {
  CgroupMode mode = opts_->manage_cgroups_mode;
  std::string rel = Relative(path);
  struct stat st;
  bool exists = ::fstatat(hfd, rel.c_str(), &st, 0) == 0;
  if (!exists && errno != ENOENT) return ErrnoError("cgroup {}", path);
  bool write_props = true;
  if (!exists) {
    if (mode == CgroupMode::kNone || mode == CgroupMode::kProps)
      return MakeError(ENOENT, "cgroup {} of {} does not exist (--manage-cgroups={} needs it)", path, hname,
                       ModeName(mode));
    CRYO_TRY(MakePath(hname, hfd, rel));
    UniqueFd d = CRYO_TRY(OpenAt(hfd, rel, O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (e.has_dir_perms()) CRYO_TRY(ApplyPerms(d.get(), e.dir_perms(), path));
    for (const auto& p : e.properties()) {
      if (!IsSpecialProperty(p.name())) continue;
      if (p.name() == "memory.swappiness" && p.value() == "60") continue;
      if (p.name() == "memory.oom_control" && p.value() == "0") continue;
      CRYO_TRY_CTX(WriteProperty(d.get(), p.name(), p.value()), "cgroup {} of {}", path, hname);
    }
  } else {
    if (mode == CgroupMode::kStrict)
      return MakeError(EEXIST, "cgroup {} of {} already exists (--manage-cgroups=strict)", path, hname);
    if (mode == CgroupMode::kSoft || mode == CgroupMode::kNone || mode == CgroupMode::kDefault) write_props = false;
    if (mode != CgroupMode::kNone && e.has_dir_perms()) {
      UniqueFd d = CRYO_TRY(OpenAt(hfd, rel, O_RDONLY | O_DIRECTORY | O_CLOEXEC));
      CRYO_TRY(ApplyPerms(d.get(), e.dir_perms(), path));
    }
  }
  // The hierarchy's root has no properties of its own to restore.
  if (write_props && path != "/")
    for (const auto& p : e.properties()) {
      if (IsSpecialProperty(p.name())) continue;
      (IsFreezerProperty(p.name()) ? freezer_ : props_).push_back({hname, path, p});
    }
  for (const auto& c : e.children()) {
    if (c.dir_name().empty() || c.dir_name().find('/') != std::string::npos || c.dir_name() == "..")
      return MakeError(EINVAL, "cgroup.img: bad directory '{}' under {}", c.dir_name(), path);
    CRYO_TRY(PrepareDir(hname, hfd, Join(path, c.dir_name()), c));
  }
  return {};
}

namespace {

// A new v1 cpuset cgroup starts with no CPUs and no memory nodes, and no
// task can enter it: it gets its parent's, as the kernel's
// cgroup.clone_children would give it.
Result<> InheritCpuset(const std::string& hname, int hfd, const std::string& part) {
  std::vector<std::string> names = SplitNames(hname);
  if (std::find(names.begin(), names.end(), "cpuset") == names.end()) return {};
  size_t slash = part.rfind('/');
  std::string parent = slash == std::string::npos ? "." : part.substr(0, slash);
  for (const char* f : {"cpuset.cpus", "cpuset.mems"}) {
    std::string v = CRYO_TRY(ReadFileAt(hfd, parent + "/" + f));
    UniqueFd d = CRYO_TRY(OpenAt(hfd, part, O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    CRYO_TRY_CTX(WriteProperty(d.get(), f, v), "cgroup /{} of {}", part, hname);
  }
  return {};
}

}  // namespace

Result<> CgroupRestorer::MakePath(const std::string& hname, int hfd, const std::string& rel) {
  if (rel == ".") return {};
  // Parents first (a head deep in the hierarchy).
  for (size_t p = 1; p <= rel.size(); p++) {
    if (p != rel.size() && rel[p] != '/') continue;
    std::string part = rel.substr(0, p);
    if (::mkdirat(hfd, part.c_str(), 0755) == 0) {
      created_.emplace_back(hname, "/" + part);
      CRYO_TRY(InheritCpuset(hname, hfd, part));
    } else if (errno != EEXIST) {
      return ErrnoError("create cgroup /{} of {}", part, hname);
    }
  }
  return {};
}

Result<const CgSet*> CgroupRestorer::Set(uint32_t id) const {
  if (id == own_set_) return &own_now_;
  auto it = sets_.find(id);
  if (it == sets_.end()) return MakeError(EINVAL, "cgroup set {} is not in cgroup.img", id);
  return &it->second;
}

Result<> CgroupRestorer::Enter(pid_t pid, const std::string& name, const std::string& path, const char* file) {
  int hfd = CRYO_TRY(HierarchyFd(name));
  std::string rel = Relative(path) + "/" + file;
  std::string text = std::to_string(pid);
  UniqueFd fd(::openat(hfd, rel.c_str(), O_WRONLY | O_CLOEXEC));
  if (!fd || ::write(fd.get(), text.data(), text.size()) < 0)
    return ErrnoError("move {} into cgroup {} of {}", pid, path, name.empty() ? "cgroup2" : name);
  return {};
}

Result<> CgroupRestorer::MoveProcess(pid_t pid, uint32_t set, uint32_t born_in) {
  if (!active_ || set == 0 || set == born_in) return {};
  const CgSet* to = CRYO_TRY(Set(set));
  const CgSet* from = born_in == 0 ? nullptr : CRYO_TRY(Set(born_in));
  for (const auto& m : *to) {
    if (from && std::find(from->begin(), from->end(), m) != from->end()) continue;
    CRYO_TRY(Enter(pid, m.name, m.path, "cgroup.procs"));
  }
  return {};
}

Result<> CgroupRestorer::MoveRoot(pid_t pid, uint32_t set, uint32_t born_in,
                                  const std::function<Result<>()>& unshare) {
  if (!active_ || set == 0) return {};
  const CgSet* to = CRYO_TRY(Set(set));
  if (std::none_of(to->begin(), to->end(), [](const CgMember& m) { return m.cgns_prefix > 0; }))
    return MoveProcess(pid, set, born_in);
  for (const auto& m : *to) {
    std::string at = m.cgns_prefix > 0 ? m.path.substr(0, std::min<size_t>(m.cgns_prefix, m.path.size())) : m.path;
    CRYO_TRY(Enter(pid, m.name, at.empty() ? "/" : at, "cgroup.procs"));
  }
  CRYO_TRY_CTX(unshare(), "cgroup namespace");
  for (const auto& m : *to)
    if (m.cgns_prefix > 0 && m.cgns_prefix < m.path.size()) CRYO_TRY(Enter(pid, m.name, m.path, "cgroup.procs"));
  return {};
}

Result<> CgroupRestorer::MoveThread(pid_t tid, uint32_t set, uint32_t leader_set) {
  if (!active_ || set == 0 || set == leader_set) return {};
  const CgSet* to = CRYO_TRY(Set(set));
  const CgSet* leader = CRYO_TRY(Set(leader_set));
  for (const auto& m : *to) {
    if (std::find(leader->begin(), leader->end(), m) != leader->end()) continue;
    CRYO_TRY(Enter(tid, m.name, m.path, m.name.empty() ? "cgroup.threads" : "tasks"));
  }
  return {};
}

Result<> CgroupRestorer::Write(const Prop& p) {
  int hfd = CRYO_TRY(HierarchyFd(p.hierarchy));
  UniqueFd d = CRYO_TRY(OpenAt(hfd, Relative(p.dir), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (p.entry.has_perms()) {
    UniqueFd f(::openat(d.get(), p.entry.name().c_str(), O_RDONLY | O_CLOEXEC));
    if (f) CRYO_TRY(ApplyPerms(f.get(), p.entry.perms(), p.dir + "/" + p.entry.name()));
  }
  CRYO_TRY_CTX(WriteProperty(d.get(), p.entry.name(), p.entry.value()), "cgroup {} of {}", p.dir,
               p.hierarchy.empty() ? "cgroup2" : p.hierarchy);
  return {};
}

Result<> CgroupRestorer::ApplyProperties() {
  for (const auto& p : props_) CRYO_TRY(Write(p));
  return {};
}

Result<> CgroupRestorer::ApplyFreezer() {
  for (const auto& p : freezer_) CRYO_TRY(Write(p));
  return {};
}

}  // namespace cryo::cgroups
