#include "cgroups/dump.h"

#include <dirent.h>
#include <fcntl.h>
#include <sched.h>
#include <sys/stat.h>

#include <algorithm>
#include <set>

#include "engine/base/files.h"
#include "engine/ns/probe.h"
#include "engine/image/image_writer.h"
#include "engine/image/proto/cgroup.pb.h"

namespace cryo::cgroups {
namespace {

// One hierarchy's part of the image while it is walked.
struct Walker {
  int hierarchy;  // fd of its root
  std::vector<std::string> props;
  bool v2;
  bool threaded = false;
  const std::optional<CgroupLocation>* freezer;
  bool was_frozen;

  Result<> Dir(const std::string& path, img::cgroup_dir_entry& e) {
    UniqueFd d(::openat(hierarchy, Relative(path).c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (!d) return ErrnoError("open cgroup {}", path);
    struct stat st;
    if (::fstat(d.get(), &st) != 0) return ErrnoError("stat cgroup {}", path);
    auto* perms = e.mutable_dir_perms();
    perms->set_mode(st.st_mode);
    perms->set_uid(st.st_uid);
    perms->set_gid(st.st_gid);
    bool frozen_here = freezer->has_value() && (*freezer)->v2 == v2 && (*freezer)->path == path;
    for (const auto& name : props) {
      auto v = ReadProperty(d.get(), name);
      if (!v) {
        int err = v.error().err();
        if (err == ENOENT || err == ENODEV || err == EOPNOTSUPP || err == EINVAL) continue;
        return std::unexpected(v.error().context(fmt::format("cgroup {}", path)));
      }
      if (name == "tasks" || (name == "cgroup.type" && v->value == "threaded")) threaded = true;
      // The dump itself thawed the cgroup it froze: record how it was.
      if (name == "cgroup.freeze" && frozen_here) v->value.assign(1, was_frozen ? '1' : '0');
      auto* p = e.add_properties();
      p->set_name(name);
      p->set_value(v->value);
      auto* pp = p->mutable_perms();
      pp->set_mode(v->st.st_mode);
      pp->set_uid(v->st.st_uid);
      pp->set_gid(v->st.st_gid);
    }
    if (frozen_here && !v2) {
      auto v = CRYO_TRY_CTX(ReadProperty(d.get(), "freezer.state"), "cgroup {}", path);
      auto* p = e.add_properties();
      p->set_name("freezer.state");
      p->set_value(was_frozen ? "FROZEN" : "THAWED");
      auto* pp = p->mutable_perms();
      pp->set_mode(v.st.st_mode);
      pp->set_uid(v.st.st_uid);
      pp->set_gid(v.st.st_gid);
    }
    std::vector<std::string> children;
    DIR* dir = ::fdopendir(::dup(d.get()));
    if (dir == nullptr) return ErrnoError("list cgroup {}", path);
    while (dirent* de = ::readdir(dir)) {
      std::string n = de->d_name;
      if (n == "." || n == ".." || de->d_type != DT_DIR) continue;
      children.push_back(std::move(n));
    }
    ::closedir(dir);
    std::sort(children.begin(), children.end());
    for (const auto& c : children) {
      auto* ce = e.add_children();
      ce->set_dir_name(c);
      CRYO_TRY(Dir(path == "/" ? "/" + c : path + "/" + c, *ce));
    }
    return {};
  }
};

bool Under(const std::string& path, const std::string& root) {
  if (root == "/") return true;
  return path == root || (path.starts_with(root) && path[root.size()] == '/');
}

}  // namespace

Result<CgroupDumper> CgroupDumper::Make(const Options& opts) {
  PropertyLists props = CRYO_TRY(PropertyLists::Make(opts.cgroup_props, opts.cgroup_props_file));
  CgroupDumper d(opts, std::move(props));
  std::string own = CRYO_TRY(ReadFile("/proc/self/cgroup"));
  d.sets_.push_back(CRYO_TRY(ParseCgroupFile(own, [&](std::string_view n) { return d.Keep(n); })));
  return d;
}

bool CgroupDumper::Keep(std::string_view name) const {
  const auto& only = opts_->cgroup_dump_controller;
  return only.empty() || std::find(only.begin(), only.end(), name) != only.end();
}

namespace {

// /proc/PID/cgroup as a process in PID's cgroup namespace reads it (paths
// from that namespace's root).
Result<std::string> ReadFromInside(pid_t pid) {
  std::string path = fmt::format("/proc/{}/cgroup", pid);
  return ns::ReadInside(pid, CLONE_NEWCGROUP, ns::ReadFileProbe, path.c_str());
}

}  // namespace

Result<> CgroupDumper::SetRoot(pid_t root) {
  struct stat theirs, ours;
  if (::stat(fmt::format("/proc/{}/ns/cgroup", root).c_str(), &theirs) != 0) return {};
  if (::stat("/proc/self/ns/cgroup", &ours) != 0 || theirs.st_ino == ours.st_ino) return {};
  auto keep = [&](std::string_view n) { return Keep(n); };
  CgSet outside = CRYO_TRY(ReadTaskCgroups(root, root, keep));
  CgSet inside = CRYO_TRY_CTX(ParseCgroupFile(CRYO_TRY(ReadFromInside(root)), keep), "cgroup namespace of {}", root);
  CRYO_TRY_CTX(SetNamespacePrefixes(outside, inside), "cgroup namespace of {}", root);
  ns_roots_ = outside;
  return {};
}

Result<uint32_t> CgroupDumper::SetOf(pid_t pid, pid_t tid) {
  CgSet set = CRYO_TRY(ReadTaskCgroups(pid, tid, [&](std::string_view n) { return Keep(n); }));
  // One cgroup namespace for the whole tree: the root's boundary for all.
  for (auto& m : set)
    for (const auto& r : ns_roots_) {
      if (r.name != m.name || r.cgns_prefix == 0) continue;
      std::string_view prefix = std::string_view(r.path).substr(0, r.cgns_prefix);
      if (!std::string_view(m.path).starts_with(prefix))
        return MakeError(ENOTSUP, "thread {}: cgroup {} is outside its cgroup namespace ({})", tid, m.path, prefix);
      m.cgns_prefix = r.cgns_prefix;
    }
  for (size_t i = 0; i < sets_.size(); i++)
    if (sets_[i] == set) return static_cast<uint32_t>(i + 1);
  sets_.push_back(std::move(set));
  return static_cast<uint32_t>(sets_.size());
}

Result<> CgroupDumper::Write(int dir, Log& log) const {
  if (sets_.size() == 1) {
    log.Debug("cgroups: every task is in cryo's own cgroups, nothing to record");
    return {};
  }
  img::cgroup_entry cg;
  for (size_t i = 1; i < sets_.size(); i++) {
    auto* se = cg.add_sets();
    se->set_id(static_cast<uint32_t>(i + 1));
    for (const auto& m : sets_[i]) {
      auto* ce = se->add_ctls();
      ce->set_name(m.name);
      ce->set_path(m.path);
      if (m.cgns_prefix > 0) ce->set_cgns_prefix(m.cgns_prefix);
    }
  }
  // The hierarchies: cryo's own, then named ones (name=systemd) tasks use.
  auto hierarchies = CRYO_TRY(OwnHierarchies([&](std::string_view n) { return Keep(n); }));
  for (const auto& set : sets_)
    for (const auto& m : set) {
      if (!m.name.starts_with("name=")) continue;
      std::vector<std::string> named{m.name};
      if (std::find(hierarchies.begin(), hierarchies.end(), named) == hierarchies.end()) hierarchies.push_back(named);
    }
  for (const auto& cnames : hierarchies) {
    auto* ctl = cg.add_controllers();
    for (const auto& c : cnames) ctl->add_cnames(c);
    bool v2 = IsV2(cnames);
    ctl->set_is_threaded(false);
    if (opts_->manage_cgroups_mode == CgroupMode::kIgnore) continue;
    // Where to walk from: each set's cgroup in this hierarchy (or the
    // --cgroup-root given for it). Neither the hierarchy's root nor the
    // cgroup cryo itself is in is walked: they are the host's, not the
    // tasks' own.
    std::set<std::string> roots;
    for (size_t i = 1; i < sets_.size(); i++)
      for (const auto& m : sets_[i]) {
        if (!NamesHierarchy(cnames, m.name)) continue;
        std::string root = m.path;
        for (const auto& o : opts_->cgroup_root)
          if (!o.ctrl || *o.ctrl == m.name) root = o.path;
        bool own = std::any_of(sets_[0].begin(), sets_[0].end(),
                               [&](const CgMember& c) { return c.name == m.name && c.path == root; });
        if (root != "/" && !own) roots.insert(root);
      }
    std::vector<std::string> heads;
    for (const auto& r : roots)
      if (std::none_of(roots.begin(), roots.end(), [&](const std::string& o) { return o != r && Under(r, o); }))
        heads.push_back(r);
    if (heads.empty()) continue;
    UniqueFd h = CRYO_TRY_CTX(OpenHierarchy(cnames, opts_->CgroupYard()), "cgroups");
    // The freezer's state belongs to its own hierarchy (v1) or the v2 one.
    static const std::optional<CgroupLocation> kNoFreezer;
    bool has_freezer = v2 || std::find(cnames.begin(), cnames.end(), "freezer") != cnames.end();
    Walker w{h.get(), props_.For(cnames), v2, false, has_freezer ? &freezer_ : &kNoFreezer, was_frozen_};
    for (const auto& head : heads) {
      auto* e = ctl->add_dirs();
      e->set_dir_name(head.substr(1));
      CRYO_TRY_CTX(w.Dir(head, *e), "record cgroup {} of {}", head, YardName(cnames));
    }
    ctl->set_is_threaded(w.threaded);
  }
  CRYO_TRY(WriteSingleEntryImage(dir, ImageKind::kCgroup, 0, cg));
  log.Info("cgroups: {} set(s) recorded", sets_.size() - 1);
  return {};
}

}  // namespace cryo::cgroups
