#include "engine/mnt/mount_dump.h"

#include <dirent.h>
#include <fcntl.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
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
    if (m.key == mountpoint && !m.val.empty()) return m.val;
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

// One fd and one byte over a unix socket (system calls only: the sender
// is a forked copy of cryo). RecvFd gives -1 when none came.
bool SendFd(int sock, int fd) {
  char c = 0;
  iovec iov{&c, 1};
  alignas(cmsghdr) char ctl[CMSG_SPACE(sizeof(int))] = {};
  msghdr m{};
  m.msg_iov = &iov;
  m.msg_iovlen = 1;
  m.msg_control = ctl;
  m.msg_controllen = sizeof ctl;
  cmsghdr* h = CMSG_FIRSTHDR(&m);
  h->cmsg_level = SOL_SOCKET;
  h->cmsg_type = SCM_RIGHTS;
  h->cmsg_len = CMSG_LEN(sizeof(int));
  std::memcpy(CMSG_DATA(h), &fd, sizeof fd);
  return ::sendmsg(sock, &m, 0) == 1;
}

int RecvFd(int sock) {
  char c;
  iovec iov{&c, 1};
  alignas(cmsghdr) char ctl[CMSG_SPACE(sizeof(int))] = {};
  msghdr m{};
  m.msg_iov = &iov;
  m.msg_iovlen = 1;
  m.msg_control = ctl;
  m.msg_controllen = sizeof ctl;
  if (::recvmsg(sock, &m, MSG_CMSG_CLOEXEC) != 1) return -1;
  cmsghdr* h = CMSG_FIRSTHDR(&m);
  if (!h || h->cmsg_level != SOL_SOCKET || h->cmsg_type != SCM_RIGHTS) return -1;
  int fd;
  std::memcpy(&fd, CMSG_DATA(h), sizeof fd);
  return fd;
}

// The mount at `target` alone, without what is mounted inside it, even
// when later mounts hide it (`covering`, in mount order): a child joins
// the tree's mount namespace, makes a private copy of it, detaches the
// covering mounts there (the tree's own namespace is not touched) and
// hands back a detached copy of the mount then at `target` (open_tree
// without AT_RECURSIVE: no submounts, so what they hide is seen).
Result<UniqueFd> OpenAlone(pid_t root, const std::string& target, const std::vector<std::string>& covering) {
  UniqueFd ns = CRYO_TRY(Open(fmt::format("/proc/{}/ns/mnt", root), O_RDONLY));
  int sp[2];
  if (::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sp) != 0) return ErrnoError("socketpair");
  UniqueFd ours(sp[0]), theirs(sp[1]);
  std::vector<const char*> paths;
  for (auto it = covering.rbegin(); it != covering.rend(); ++it) paths.push_back(it->c_str());
  pid_t child = ::fork();
  if (child < 0) return ErrnoError("fork");
  if (child == 0) {
    // System calls only: a copy of cryo.
    if (::setns(ns.get(), CLONE_NEWNS) != 0 || ::unshare(CLONE_NEWNS) != 0 ||
        ::mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0)
      ::_exit(1);
    for (const char* p : paths)
      if (::umount2(p, MNT_DETACH) != 0) ::_exit(2);
    int fd = static_cast<int>(::syscall(SYS_open_tree, AT_FDCWD, target.c_str(), OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC));
    if (fd < 0) ::_exit(3);
    ::_exit(SendFd(theirs.get(), fd) ? 0 : 4);
  }
  theirs.reset();
  int fd = RecvFd(ours.get());
  int status = 0;
  while (::waitpid(child, &status, 0) < 0 && errno == EINTR) {
  }
  if (fd < 0)
    return MakeError(EIO, "mount {} is hidden under another one and could not be reached (step {})", target,
                     WIFEXITED(status) ? WEXITSTATUS(status) : -1);
  return UniqueFd(fd);
}

}  // namespace

namespace {

// In another namespace of the tree: the key of the root's external mount
// this one is a copy of.
std::optional<std::string> OuterKey(const std::vector<img::mnt_entry>& outer, const MountInfo& m) {
  for (const auto& o : outer)
    if (o.ext_mount() && o.root_dev() == m.dev && o.root() == m.root) return o.ext_key();
  return std::nullopt;
}

}  // namespace

Result<std::vector<img::mnt_entry>> DescribeMounts(const std::vector<MountInfo>& theirs, const Options& opts,
                                                   const std::vector<MountInfo>& ours,
                                                   const std::vector<img::mnt_entry>* outer) {
  // --ext-mount-map auto, or its other spelling --external mnt[].
  // mnt[]:s and mnt[]:m (CRIU's sharing and masters flags) are auto too.
  bool auto_ext = opts.auto_ext_mnt || std::any_of(opts.external.begin(), opts.external.end(), [](const std::string& x) {
                    return x == "mnt[]" || x.starts_with("mnt[]:");
                  });
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
    if (m.deleted) e.set_deleted(true);
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
    } else if (auto key = outer ? OuterKey(*outer, m) : ExternalKey(opts, m.mountpoint)) {
      e.set_ext_mount(true);
      e.set_ext_key(*key);
    } else if (bind_of_ours) {
      // Restored from the tree's own mounts.
    } else if (auto_ext && (m.root != "/" || !MadeAnew(type)) && MountShowing(ours, m.dev, m.root)) {
      // A bind of a part of one of cryo's mounts (a tmpfs too: made anew,
      // it would not be shared with cryo's, and a file has no archive).
      e.set_ext_mount(true);
      e.set_ext_key(kAutoExternal);
    } else if (MadeAnew(type)) {
      // Made anew.
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

Result<MountDumper> MountDumper::Make(pid_t root, const Options& opts, const std::vector<MountInfo>& ours,
                                     const MountDumper* outer) {
  MountDumper d;
  d.root_ = root;
  std::vector<MountInfo> theirs = CRYO_TRY(ReadMountInfo(root));
  d.entries_ = CRYO_TRY_CTX(DescribeMounts(theirs, opts, ours, outer ? &outer->entries_ : nullptr),
                             "mount namespace of {}", root);
  // A bind of a removed file comes back as a new empty file: its
  // contents are in no image.
  for (const auto& e : d.entries_) {
    if (!e.deleted()) continue;
    struct stat st;
    std::string at = fmt::format("/proc/{}/root{}", root, e.mountpoint());
    if (::stat(at.c_str(), &st) != 0) return ErrnoError("mount {} (a bind of the removed {})", e.mountpoint(), e.root());
    if (!S_ISDIR(st.st_mode) && st.st_size != 0)
      return MakeError(ENOTSUP, "pid {}: mount {} is a bind of the removed file {} ({} bytes), whose contents cannot be restored",
                       root, e.mountpoint(), e.root(), st.st_size);
  }
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

void MountDumper::BindsFrom(const MountDumper& other) {
  std::erase_if(tmpfs_, [&](size_t i) {
    return std::any_of(other.entries_.begin(), other.entries_.end(),
                       [&](const img::mnt_entry& o) { return o.root_dev() == entries_[i].root_dev(); });
  });
}

Result<> MountDumper::Write(int dir, uint32_t ns_id, Log& log) const {
  ImageWriter w(dir, ImageKind::kMountpoints, ns_id);
  for (const auto& e : entries_) CRYO_TRY(w.Write(e));
  CRYO_TRY(w.Close());
  for (size_t i : tmpfs_) {
    const auto& e = entries_[i];
    // Through the root task's root: its mount namespace's view; or, for a
    // mount a later one hides or with mounts inside it, the mount alone.
    std::vector<std::string> covering;
    bool inside = false;
    for (size_t j = i + 1; j < entries_.size(); j++) {
      if (IsBelow(e.mountpoint(), entries_[j].mountpoint())) covering.push_back(entries_[j].mountpoint());
      inside |= IsBelow(entries_[j].mountpoint(), e.mountpoint()) && entries_[j].mountpoint() != e.mountpoint();
    }
    UniqueFd d = covering.empty() && !inside
                     ? CRYO_TRY(Open(fmt::format("/proc/{}/root{}", root_, e.mountpoint()), O_RDONLY | O_DIRECTORY))
                     : CRYO_TRY_CTX(OpenAlone(root_, e.mountpoint(), covering), "contents of tmpfs {}", e.mountpoint());
    ImageWriter img(dir, ImageKind::kTmpfsDev, e.root_dev());
    int out = CRYO_TRY(img.RawFd());
    CRYO_TRY_CTX(ArchiveTree(d.get(), out), "contents of tmpfs {}", e.mountpoint());
    CRYO_TRY(img.Close());
  }
  log.Info("mount namespace: {} mounts, {} tmpfs archived", entries_.size(), tmpfs_.size());
  return {};
}

}  // namespace cryo::mnt
