#include "engine/mnt/mount_dump.h"

#include <fcntl.h>

#include <algorithm>
#include <map>
#include <set>

#include "engine/base/files.h"
#include "engine/image/image_writer.h"
#include "engine/mnt/fstype.h"
#include "engine/mnt/tmpfs.h"

namespace cryo::mnt {
namespace {

// The key a user gave for the mount at `mountpoint`, if any.
std::optional<std::string> ExternalKey(const Options& o, const std::string& mountpoint) {
  for (const auto& e : o.external) {
    // mnt[PATH]:KEY
    if (!e.starts_with("mnt[")) continue;
    size_t close = e.find("]:");
    if (close == std::string::npos) continue;
    if (e.substr(4, close - 4) == mountpoint) return e.substr(close + 2);
  }
  for (const auto& m : o.ext_mnt)
    if (m.key == mountpoint) return m.val;
  return std::nullopt;
}

bool Skipped(const Options& o, const std::string& mountpoint) {
  return std::find(o.skip_mnt.begin(), o.skip_mnt.end(), mountpoint) != o.skip_mnt.end();
}

bool Enabled(const Options& o, const std::string& fstype) {
  for (const auto& f : o.enable_fs)
    if (f == fstype || f == "all") return true;
  return false;
}

// A mount of cryo's that `m` is a bind of: same superblock, root below.
const MountInfo* HostSource(const MountInfo& m, const std::vector<MountInfo>& ours) {
  const MountInfo* best = nullptr;
  for (const auto& h : ours)
    if (h.dev == m.dev && IsBelow(m.root, h.root) && (!best || h.root.size() > best->root.size())) best = &h;
  return best;
}

}  // namespace

Result<std::vector<img::mnt_entry>> DescribeMounts(const std::vector<MountInfo>& theirs, const Options& opts,
                                                   const std::vector<MountInfo>& ours) {
  std::set<uint32_t> ids, skipped;
  for (const auto& m : theirs) ids.insert(m.id);
  std::vector<img::mnt_entry> out;
  std::vector<const MountInfo*> kept;
  const MountInfo* root = nullptr;
  for (const auto& m : theirs) {
    if (skipped.count(m.parent) || Skipped(opts, m.mountpoint)) {
      skipped.insert(m.id);
      continue;
    }
    bool is_root = !ids.count(m.parent) || m.parent == m.id;
    if (is_root && root)
      return MakeError(ENOTSUP, "mounts {} and {} both have their parent outside the namespace", root->mountpoint,
                       m.mountpoint);
    if (is_root && m.mountpoint != "/")
      return MakeError(ENOTSUP, "the root mount of the namespace is at {}, not /", m.mountpoint);
    img::mnt_entry e;
    Fstype type = FstypeOf(m.fstype);
    if (type == Fstype::kUnsupported && Enabled(opts, m.fstype)) type = Fstype::kAuto;
    e.set_fstype(static_cast<uint32_t>(type));
    if (type == Fstype::kAuto || type == Fstype::kUnsupported) e.set_fsname(m.fstype);
    e.set_mnt_id(m.id);
    e.set_root_dev(m.dev);
    e.set_parent_mnt_id(is_root ? m.id : m.parent);
    e.set_flags(m.flags);
    e.set_sb_flags(m.sb_flags);
    e.set_root(m.root);
    e.set_mountpoint(m.mountpoint);
    e.set_source(m.source);
    e.set_options(m.options);
    if (m.shared) e.set_shared_id(m.shared);
    if (m.master) e.set_master_id(m.master);
    bool bind_of_ours = std::any_of(kept.begin(), kept.end(), [&](const MountInfo* k) {
      return k->dev == m.dev && IsBelow(m.root, k->root);
    });
    if (is_root) {
      root = &m;
    } else if (auto key = ExternalKey(opts, m.mountpoint)) {
      e.set_ext_mount(true);
      e.set_ext_key(*key);
    } else if (bind_of_ours || MadeAnew(type)) {
      // Restored from the tree's own mounts, or made anew.
    } else if (opts.auto_ext_mnt && HostSource(m, ours)) {
      e.set_ext_mount(true);
      e.set_ext_key(kAutoExternal);
    } else {
      return MakeError(ENOTSUP,
                       "mount {} ({} {}, root {}) comes from outside the tree's mount namespace: name it with "
                       "--external mnt[{}]:KEY, or dump with --ext-mount-map auto",
                       m.mountpoint, m.fstype, m.source, m.root, m.mountpoint);
    }
    kept.push_back(&m);
    out.push_back(std::move(e));
  }
  if (!root) return MakeError(ENOTSUP, "the mount namespace has no root mount");
  return out;
}

Result<MountDumper> MountDumper::Make(pid_t root, const Options& opts, const std::vector<MountInfo>& ours) {
  MountDumper d;
  d.root_ = root;
  std::vector<MountInfo> theirs = CRYO_TRY(ReadMountInfo(root));
  d.entries_ = CRYO_TRY_CTX(DescribeMounts(theirs, opts, ours), "mount namespace of {}", root);
  // Each tmpfs's contents once, from its first mount (not the root's: that
  // comes from --root).
  std::set<uint32_t> devs;
  for (size_t i = 1; i < d.entries_.size(); i++) {
    const auto& e = d.entries_[i];
    if (e.fstype() == static_cast<uint32_t>(Fstype::kTmpfs) && !e.ext_mount() && devs.insert(e.root_dev()).second)
      d.tmpfs_.push_back(i);
  }
  return d;
}

Result<> MountDumper::Write(int dir, uint32_t ns_id, Log& log) const {
  ImageWriter w(dir, ImageKind::kMountpoints, ns_id);
  for (const auto& e : entries_) CRYO_TRY(w.Write(e));
  CRYO_TRY(w.Close());
  for (size_t i : tmpfs_) {
    const auto& e = entries_[i];
    // Through the root task's root: its mount namespace's view.
    std::string path = fmt::format("/proc/{}/root{}", root_, e.mountpoint());
    UniqueFd d = CRYO_TRY(Open(path, O_RDONLY | O_DIRECTORY));
    ImageWriter img(dir, ImageKind::kTmpfsDev, e.root_dev());
    int out = CRYO_TRY(img.RawFd());
    CRYO_TRY_CTX(ArchiveTree(d.get(), out), "contents of tmpfs {}", e.mountpoint());
    CRYO_TRY(img.Close());
  }
  log.Info("mount namespace: {} mounts, {} tmpfs archived", entries_.size(), tmpfs_.size());
  return {};
}

}  // namespace cryo::mnt
