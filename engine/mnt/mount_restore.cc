#include "engine/mnt/mount_restore.h"

#include <fcntl.h>
#include <linux/openat2.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <functional>
#include <map>

#include "engine/base/files.h"
#include "engine/image/image_reader.h"
#include "engine/mnt/fstype.h"
#include "engine/mnt/mount_dump.h"
#include "engine/mnt/tmpfs.h"

namespace cryo::mnt {
namespace {

constexpr size_t kMaxMounts = 4096;

bool SaneMountpoint(const std::string& p) {
  if (p.empty() || p[0] != '/' || p.size() >= 4096) return false;
  for (size_t at = 0; at < p.size();) {
    size_t next = p.find('/', at + 1);
    if (next == std::string::npos) next = p.size();
    std::string_view c(p.data() + at + 1, next - at - 1);
    if (c == "." || c == "..") return false;
    at = next;
  }
  return true;
}

// What the filesystem said about a failed fsconfig, if it said anything.
std::string FsMessage(int fs) {
  char buf[512];
  ssize_t n = ::read(fs, buf, sizeof buf - 1);
  if (n <= 2) return "";
  buf[n] = '\0';
  std::string s(buf + 2);  // "e message"
  if (auto nl = s.find('\n'); nl != std::string::npos) s.resize(nl);
  return ": " + s;
}

// Paths inside the tree's mounts are not followed; a host path the user
// gave (`follow`) is, as mount(2) would: LXC names /lib, a symlink to
// usr/lib on a merged-/usr host, as the source of its bind on /lib.
Result<UniqueFd> Clone(int from, const std::string& rel, bool follow = false) {
  int flags = OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | (follow ? 0 : AT_SYMLINK_NOFOLLOW) | (rel.empty() ? AT_EMPTY_PATH : 0);
  UniqueFd fd(::open_tree(from, rel.c_str(), static_cast<unsigned>(flags)));
  if (!fd) return ErrnoError("open_tree {}", rel.empty() ? "." : rel);
  return fd;
}

// One component at a time below `dir`, made when missing: directories, or
// a file for the last one when a file is to be mounted there.
Result<UniqueFd> MakePath(int dir, const std::string& rel, bool last_is_dir) {
  UniqueFd cur(::fcntl(dir, F_DUPFD_CLOEXEC, 0));
  if (!cur) return ErrnoError("dup");
  size_t at = 0;
  while (at < rel.size()) {
    size_t next = rel.find('/', at);
    if (next == std::string::npos) next = rel.size();
    std::string c = rel.substr(at, next - at);
    bool last = next == rel.size();
    at = next + 1;
    if (c.empty()) continue;
    open_how how{};
    how.flags = O_PATH | O_CLOEXEC;
    how.resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS;
    long fd = ::syscall(SYS_openat2, cur.get(), c.c_str(), &how, sizeof how);
    if (fd < 0 && errno == ENOENT) {
      if (!last || last_is_dir) {
        if (::mkdirat(cur.get(), c.c_str(), 0755) != 0 && errno != EEXIST) return ErrnoError("mkdir {}", c);
      } else {
        int f = ::openat(cur.get(), c.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
        if (f < 0 && errno != EEXIST) return ErrnoError("create {}", c);
        if (f >= 0) ::close(f);
      }
      fd = ::syscall(SYS_openat2, cur.get(), c.c_str(), &how, sizeof how);
    }
    if (fd < 0) return ErrnoError("open {}", c);
    cur.reset(static_cast<int>(fd));
  }
  return cur;
}

uint64_t AttrOf(uint32_t ms) {
  uint64_t a = 0;
  if (ms & MS_RDONLY) a |= MOUNT_ATTR_RDONLY;
  if (ms & MS_NOSUID) a |= MOUNT_ATTR_NOSUID;
  if (ms & MS_NODEV) a |= MOUNT_ATTR_NODEV;
  if (ms & MS_NOEXEC) a |= MOUNT_ATTR_NOEXEC;
  if (ms & MS_NODIRATIME) a |= MOUNT_ATTR_NODIRATIME;
  if (ms & MS_NOATIME)
    a |= MOUNT_ATTR_NOATIME;
  else if (ms & MS_STRICTATIME)
    a |= MOUNT_ATTR_STRICTATIME;
  else
    a |= MOUNT_ATTR_RELATIME;
  return a;
}

}  // namespace

Result<> MountTree::Plan(std::vector<img::mnt_entry> entries) {
  if (entries.empty()) return MakeError(EINVAL, "no mounts");
  if (entries.size() > kMaxMounts) return MakeError(E2BIG, "{} mounts", entries.size());
  // Images list mounts as mountinfo did: not always parents first.
  std::vector<std::pair<uint32_t, uint32_t>> ids;
  for (const auto& e : entries) ids.emplace_back(e.mnt_id(), e.parent_mnt_id());
  std::vector<img::mnt_entry> ordered;
  for (size_t i : ParentsFirst(ids)) ordered.push_back(std::move(entries[i]));
  std::map<uint32_t, int> at;
  for (auto& e : ordered) {
    Node n;
    int self = static_cast<int>(nodes_.size());
    if (!SaneMountpoint(e.mountpoint()) || !SaneMountpoint(e.root()))
      return MakeError(EINVAL, "mount {}: bad mountpoint or root", e.mnt_id());
    if (self == 0) {
      if (e.parent_mnt_id() != e.mnt_id() || e.mountpoint() != "/")
        return MakeError(EINVAL, "the first mount ({}) is not the namespace's root", e.mountpoint());
    } else {
      auto p = at.find(e.parent_mnt_id());
      if (p == at.end()) return MakeError(EINVAL, "mount {}: parent {} comes later or not at all", e.mountpoint(), e.parent_mnt_id());
      n.parent = p->second;
    }
    if (!at.emplace(e.mnt_id(), self).second) return MakeError(EINVAL, "mount id {} twice", e.mnt_id());
    n.e = std::move(e);
    nodes_.push_back(std::move(n));
  }
  // In the dumped order, so the tree's mountinfo lists them as it did;
  // but a mount the parent has below another one's mount point (a copy
  // propagated there before that one covered it) is made first: once
  // covered, its mount point is reached through the covering mount.
  std::vector<bool> placed(nodes_.size(), false);
  std::function<void(size_t)> place = [&](size_t i) {
    const Node& n = nodes_[i];
    for (size_t j = i + 1; j < nodes_.size(); j++) {
      const Node& c = nodes_[j];
      if (!placed[j] && c.parent == n.parent && c.e.mountpoint() != n.e.mountpoint() &&
          IsBelow(c.e.mountpoint(), n.e.mountpoint()))
        place(j);
    }
    placed[i] = true;
    order_.push_back(i);
  };
  for (size_t i = 1; i < nodes_.size(); i++)
    if (!placed[i]) place(i);
  for (size_t k = 0; k < order_.size(); k++) {
    Node& n = nodes_[order_[k]];
    Fstype t = static_cast<Fstype>(n.e.fstype());
    if (n.e.ext_mount()) continue;
    // A bind of a mount made before it, or a filesystem made anew.
    auto from = [&](const Node& s) { return s.e.root_dev() == n.e.root_dev() && IsBelow(n.e.root(), s.e.root()); };
    bool bind = from(nodes_[0]);
    for (size_t j = 0; j < k && !bind; j++) bind = from(nodes_[order_[j]]);
    if (bind || OuterSource(n.e)) continue;
    if (!MadeAnew(t))
      return MakeError(ENOTSUP, "mount {}: a {} filesystem cannot be made here", n.e.mountpoint(),
                       n.e.has_fsname() ? n.e.fsname() : std::to_string(n.e.fstype()));
    n.anew = true;
  }
  return {};
}

const img::mnt_entry* MountTree::OuterSource(const img::mnt_entry& e) const {
  for (const auto& o : outer_)
    if (!o.ext_mount() && o.root_dev() == e.root_dev() && IsBelow(e.root(), o.root())) return &o;
  return nullptr;
}

Result<std::unique_ptr<MountTree>> MountTree::Enter(int images_dir, uint32_t ns_id, const Options& opts, Log& log,
                                                    int made_ns, const MountTree* outer) {
  std::unique_ptr<MountTree> t(new MountTree(opts, log));
  t->images_dir_ = images_dir;
  std::vector<img::mnt_entry> entries;
  ImageReader r = CRYO_TRY(ImageReader::Open(images_dir, ImageKind::kMountpoints, ns_id));
  img::mnt_entry e;
  while (CRYO_TRY(r.Next(e))) entries.push_back(e);
  if (outer)
    for (const Node& n : outer->nodes_) t->outer_.push_back(n.e);
  CRYO_TRY_CTX(t->Plan(std::move(entries)), "{}", r.name());
  // Another namespace of the tree stands on the root's root filesystem.
  std::string root_rel;
  if (outer) {
    const auto& mine = t->nodes_[0].e;
    const auto& top = outer->nodes_[0].e;
    if (mine.root_dev() != top.root_dev() || !IsBelow(mine.root(), top.root()))
      return MakeError(ENOTSUP, "{}: its root ({}) is not on the root filesystem of the tree", r.name(), mine.root());
    root_rel = RelativeTo(mine.root(), top.root());
  }
  if (opts.root.empty())
    return MakeError(EINVAL, "the tree had a mount namespace of its own: restore with --root DIR (its root filesystem)");
  // cryo's own mounts (outer's tree is among them now: not a source).
  t->ours_ = outer ? outer->ours_ : CRYO_TRY(ReadMountInfo(0));
  t->own_ns_ = CRYO_TRY(Open("/proc/self/ns/mnt", O_RDONLY));
  t->own_cwd_ = CRYO_TRY(Open(".", O_PATH | O_DIRECTORY));
  if (made_ns >= 0 ? ::setns(made_ns, CLONE_NEWNS) != 0 : ::unshare(CLONE_NEWNS) != 0)
    return ErrnoError("create a mount namespace");
  t->inside_ = true;
  t->ns_ = CRYO_TRY(Open("/proc/self/ns/mnt", O_RDONLY));
  // Nothing done here reaches cryo's own namespace, nor comes back from it.
  if (::mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0) return ErrnoError("make mounts private");
  Node& root = t->nodes_[0];
  if (outer) {
    // The copy of outer's tree, before its root is covered by this one's.
    t->outer_root_ = CRYO_TRY_CTX(Open(opts.root, O_PATH | O_DIRECTORY), "--root {}", opts.root);
    root.mnt = CRYO_TRY_CTX(Clone(t->outer_root_.get(), root_rel), "the root {}", root.e.root());
  } else {
    root.mnt = CRYO_TRY_CTX(Clone(AT_FDCWD, opts.root), "--root {}", opts.root);
  }
  if (::move_mount(root.mnt.get(), "", AT_FDCWD, opts.root.c_str(), MOVE_MOUNT_F_EMPTY_PATH) != 0)
    return ErrnoError("bind --root {}", opts.root);
  t->root_fd_ = UniqueFd(::fcntl(root.mnt.get(), F_DUPFD_CLOEXEC, 0));
  if (!t->root_fd_) return ErrnoError("dup");
  return t;
}

Result<UniqueFd> MountTree::Source(Node& n, int pidns) {
  const auto& e = n.e;
  if (e.ext_mount()) {
    std::string path;
    if (e.ext_key() == kAutoExternal) {
      const MountInfo* best = MountShowing(ours_, e.root_dev(), e.root());
      if (!best)
        return MakeError(ENOENT, "it was a bind of {} on device {}:{}, which is not mounted here", e.root(),
                         e.root_dev() >> 20, e.root_dev() & 0xfffff);
      std::string rel = RelativeTo(e.root(), best->root);
      path = best->mountpoint == "/" ? "/" + rel : (rel.empty() ? best->mountpoint : best->mountpoint + "/" + rel);
    } else {
      for (const auto& m : opts_.ext_mnt)
        if (m.key == e.ext_key()) path = m.val;
      for (const auto& x : opts_.external) {
        std::string want = "mnt[" + e.ext_key() + "]:";
        if (x.starts_with(want)) path = x.substr(want.size());
      }
      if (path.empty())
        return MakeError(ENOENT, "it is external (key {}): give --external mnt[{}]:PATH", e.ext_key(), e.ext_key());
    }
    // A relative path is taken from / as CRIU's mounting task does.
    if (!path.starts_with('/')) path = "/" + path;
    bool master_outside = e.has_master_id() && std::none_of(nodes_.begin(), nodes_.end(), [&](const Node& o) {
                            return o.e.has_shared_id() && o.e.shared_id() == e.master_id();
                          });
    if (master_outside) n.anchor = CRYO_TRY_CTX(CloneInOwnNs(path), "external mount from {}", path);
    return CRYO_TRY_CTX(Clone(AT_FDCWD, path, true), "external mount from {}", path);
  }
  if (!n.anew) {
    // From the mount whose root is nearest above its own: the path
    // within it crosses as few mount points as can be.
    Node* best = nullptr;
    for (Node& s : nodes_) {
      if (&s == &n) continue;
      if (!s.mnt || s.e.root_dev() != e.root_dev() || !IsBelow(e.root(), s.e.root())) continue;
      if (!best || s.e.root().size() > best->e.root().size()) best = &s;
    }
    if (best) {
      Node& s = *best;
      std::string rel = RelativeTo(e.root(), s.e.root());
      // A bind of a pty slave needs that pty; ptmx is always there
      // (LXC binds it on /dev/ptmx).
      if (s.e.fstype() == static_cast<uint32_t>(Fstype::kDevpts) && !rel.empty() && rel != "ptmx")
        CRYO_TRY_CTX(MakePty(s.mnt.get(), rel), "bind from {}", s.e.mountpoint());
      if (e.deleted() && !rel.empty()) return CRYO_TRY_CTX(CloneDeleted(n, s, rel), "bind from {}", s.e.mountpoint());
      if (rel.empty()) return CRYO_TRY_CTX(Clone(s.mnt.get(), rel), "bind from {}", s.e.mountpoint());
      // From a copy of that mount alone: the path is in its filesystem,
      // not in what is mounted on it (a bind of its /b with /b covered).
      UniqueFd alone = CRYO_TRY_CTX(Clone(s.mnt.get(), ""), "bind from {}", s.e.mountpoint());
      return CRYO_TRY_CTX(Clone(alone.get(), rel), "bind from {}", s.e.mountpoint());
    }
    if (const img::mnt_entry* o = OuterSource(e)) {
      // A mount of the root's namespace, reached in its copy here.
      std::string at = RelativeTo(o->mountpoint(), "/");
      std::string rel = RelativeTo(e.root(), o->root());
      std::string path = at.empty() ? rel : rel.empty() ? at : at + "/" + rel;
      return CRYO_TRY_CTX(Clone(outer_root_.get(), path), "bind from {} of the root's namespace", o->mountpoint());
    }
    return MakeError(ENOENT, "no mount to bind it from");
  }
  // A kind of --enable-fs goes by the name it was dumped with.
  std::string name(FstypeName(static_cast<Fstype>(e.fstype())));
  if (name.empty() && e.has_fsname()) name = e.fsname();
  if (name.empty()) return MakeError(ENOTSUP, "filesystem kind {}", e.fstype());
  UniqueFd fs(::fsopen(name.c_str(), FSOPEN_CLOEXEC));
  if (!fs) return ErrnoError("fsopen {}", name);
  if (pidns >= 0 && ::fsconfig(fs.get(), FSCONFIG_SET_FD, "pidns", nullptr, pidns) != 0)
    return ErrnoError("proc for the tree's pid namespace{}", FsMessage(fs.get()));
  if (!e.source().empty() && ::fsconfig(fs.get(), FSCONFIG_SET_STRING, "source", e.source().c_str(), 0) != 0)
    return ErrnoError("{} source {}{}", name, e.source(), FsMessage(fs.get()));
  std::string_view opts = e.options();
  while (!opts.empty()) {
    size_t comma = opts.find(',');
    std::string o(opts.substr(0, comma));
    opts = comma == std::string_view::npos ? "" : opts.substr(comma + 1);
    if (o.empty()) continue;
    size_t eq = o.find('=');
    int rc = eq == std::string::npos
                 ? ::fsconfig(fs.get(), FSCONFIG_SET_FLAG, o.c_str(), nullptr, 0)
                 : ::fsconfig(fs.get(), FSCONFIG_SET_STRING, o.substr(0, eq).c_str(), o.c_str() + eq + 1, 0);
    if (rc != 0) return ErrnoError("{} option {}{}", name, o, FsMessage(fs.get()));
  }
  if (::fsconfig(fs.get(), FSCONFIG_CMD_CREATE, nullptr, nullptr, 0) != 0)
    return ErrnoError("create {}{}", name, FsMessage(fs.get()));
  UniqueFd mnt(::fsmount(fs.get(), FSMOUNT_CLOEXEC, 0));
  if (!mnt) return ErrnoError("fsmount {}", name);
  std::string rel = RelativeTo(e.root(), "/");
  if (!rel.empty()) {
    if (e.fstype() == static_cast<uint32_t>(Fstype::kTmpfs)) CRYO_TRY(MakePath(mnt.get(), rel, true));
    mnt = CRYO_TRY(Clone(mnt.get(), rel));
  }
  if (e.fstype() == static_cast<uint32_t>(Fstype::kTmpfs)) {
    ImageReader r = CRYO_TRY(ImageReader::Open(images_dir_, ImageKind::kTmpfsDev, e.root_dev()));
    if (r.present()) CRYO_TRY_CTX(ExtractTree(r.fd(), mnt.get()), "contents from {}", r.name());
  }
  return mnt;
}

// A bind of a directory or file removed since: it is made again where it
// was (a directory, unless the mount point is a file), bound, and removed.
Result<UniqueFd> MountTree::CloneDeleted(Node& n, const Node& from, const std::string& rel) {
  const Node& p = nodes_[static_cast<size_t>(n.parent)];
  bool dir = true;
  open_how how{};
  how.flags = O_PATH | O_CLOEXEC;
  how.resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS;
  std::string at = RelativeTo(n.e.mountpoint(), p.e.mountpoint());
  long mp = ::syscall(SYS_openat2, p.mnt.get(), at.empty() ? "." : at.c_str(), &how, sizeof how);
  if (mp >= 0) {
    UniqueFd m(static_cast<int>(mp));
    struct stat st;
    if (::fstat(m.get(), &st) == 0) dir = S_ISDIR(st.st_mode);
  }
  size_t slash = rel.rfind('/');
  UniqueFd parent = CRYO_TRY_CTX(MakePath(from.mnt.get(), slash == std::string::npos ? "" : rel.substr(0, slash), true),
                                 "directory of the removed {}", rel);
  std::string name = slash == std::string::npos ? rel : rel.substr(slash + 1);
  if (dir) {
    if (::mkdirat(parent.get(), name.c_str(), 0700) != 0) return ErrnoError("make the removed {} again", rel);
  } else {
    UniqueFd f(::openat(parent.get(), name.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600));
    if (!f) return ErrnoError("make the removed {} again", rel);
  }
  // Removed once attached: a mount of a removed root cannot be attached.
  n.gone_name = name;
  n.gone_dir = dir;
  n.gone_in = std::move(parent);
  return Clone(n.gone_in.get(), name);
}

// A copy of cryo's own mount at `path`, taken in cryo's namespace: in
// the peer group of that mount (or a slave of its master), which the
// copies made in the tree's private namespace are not.
Result<UniqueFd> MountTree::CloneInOwnNs(const std::string& path) {
  UniqueFd here = CRYO_TRY(Open("/proc/self/ns/mnt", O_RDONLY));
  if (::setns(own_ns_.get(), CLONE_NEWNS) != 0) return ErrnoError("enter cryo's mount namespace");
  UniqueFd fd(::open_tree(AT_FDCWD, path.c_str(), OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC));
  int err = errno;
  if (::setns(here.get(), CLONE_NEWNS) != 0) return ErrnoError("back to the tree's mount namespace");
  if (!fd) return MakeError(err, "open_tree {} in cryo's namespace", path);
  return fd;
}

// A bind of a pty's slave (a runtime's /dev/console): that pty must exist
// in the new devpts first. Its master, and those below it, are kept for
// the tree's ptys (TakePty).
Result<> MountTree::MakePty(int devpts, const std::string& name) {
  char* end = nullptr;
  unsigned long want = std::strtoul(name.c_str(), &end, 10);
  if (name.empty() || *end != '\0' || want >= 4096) return MakeError(EINVAL, "a bind of devpts entry {}", name);
  while (!ptys_.count(static_cast<uint32_t>(want))) {
    UniqueFd m(::openat(devpts, "ptmx", O_RDWR | O_NOCTTY | O_CLOEXEC));
    if (!m) return ErrnoError("open ptmx");
    unsigned got = 0;
    if (::ioctl(m.get(), TIOCGPTN, &got) != 0) return ErrnoError("pty number");
    if (got > want) return MakeError(EEXIST, "pty {} is taken", want);
    int unlock = 0;
    if (::ioctl(m.get(), TIOCSPTLCK, &unlock) != 0) return ErrnoError("unlock pty {}", got);
    ptys_[got] = std::move(m);
  }
  return {};
}

UniqueFd MountTree::TakePty(uint32_t index) {
  auto it = ptys_.find(index);
  if (it == ptys_.end()) return UniqueFd();
  UniqueFd m = std::move(it->second);
  ptys_.erase(it);
  return m;
}

Result<UniqueFd> MountTree::MountPoint(const Node& n, bool dir) {
  const Node& p = nodes_[static_cast<size_t>(n.parent)];
  return MakePath(p.mnt.get(), RelativeTo(n.e.mountpoint(), p.e.mountpoint()), dir);
}

Result<> MountTree::Make(Node& n, int pidns) {
  UniqueFd src = CRYO_TRY(Source(n, pidns));
  struct stat st;
  if (::fstat(src.get(), &st) != 0) return ErrnoError("stat");
  UniqueFd at = CRYO_TRY_CTX(MountPoint(n, S_ISDIR(st.st_mode)), "mount point");
  if (::move_mount(src.get(), "", at.get(), "", MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH) != 0)
    return ErrnoError("attach");
  n.mnt = std::move(src);
  if (n.gone_in) {
    if (::unlinkat(n.gone_in.get(), n.gone_name.c_str(), n.gone_dir ? AT_REMOVEDIR : 0) != 0)
      return ErrnoError("remove {} again", n.gone_name);
    n.gone_in.reset();
  }
  return {};
}

Result<> MountTree::SetFlags(Node& n) {
  mount_attr a{};
  a.attr_set = AttrOf(n.e.flags());
  a.attr_clr = MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC | MOUNT_ATTR_NODIRATIME |
               MOUNT_ATTR__ATIME;
  a.attr_clr &= ~(a.attr_set & ~MOUNT_ATTR__ATIME);
  if (::mount_setattr(n.mnt.get(), "", AT_EMPTY_PATH, &a, sizeof a) != 0) return ErrnoError("mount flags {:#x}", n.e.flags());
  if (n.anew && (n.e.sb_flags() & MS_RDONLY)) {
    UniqueFd fs(::fspick(n.mnt.get(), "", FSPICK_EMPTY_PATH | FSPICK_CLOEXEC));
    if (!fs || ::fsconfig(fs.get(), FSCONFIG_SET_FLAG, "ro", nullptr, 0) != 0 ||
        ::fsconfig(fs.get(), FSCONFIG_CMD_RECONFIGURE, nullptr, nullptr, 0) != 0)
      return ErrnoError("read-only superblock");
  }
  return {};
}

namespace {

Result<> SetPropagationOf(int fd, uint64_t prop) {
  mount_attr a{};
  a.propagation = prop;
  if (::mount_setattr(fd, "", AT_EMPTY_PATH, &a, sizeof a) != 0) return ErrnoError("propagation");
  return {};
}

// `to` (a private mount) joins the peer group of `from`, and its master.
Result<> JoinPeers(int from, int to) {
  if (::move_mount(from, "", to, "", MOVE_MOUNT_SET_GROUP | MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH) != 0)
    return ErrnoError("join peer group");
  return {};
}

}  // namespace

const MountTree::Node* MountTree::WidePeer(uint32_t group, const img::mnt_entry& e) const {
  for (const MountTree* t : others_)
    for (const Node& c : t->nodes_)
      if (c.mnt && c.e.has_shared_id() && c.e.shared_id() == group && c.e.root_dev() == e.root_dev() &&
          IsBelow(e.root(), c.e.root()))
        return &c;
  return nullptr;
}

Result<> MountTree::SetPropagation() {
  std::map<uint32_t, std::vector<size_t>> members;  // peer group id -> its mounts, widest root first
  for (size_t i = 0; i < nodes_.size(); i++)
    if (nodes_[i].e.has_shared_id()) members[nodes_[i].e.shared_id()].push_back(i);
  for (auto& [g, m] : members)
    std::stable_sort(m.begin(), m.end(),
                     [&](size_t a, size_t b) { return nodes_[a].e.root().size() < nodes_[b].e.root().size(); });
  auto mnt = [&](size_t i) { return nodes_[i].mnt.get(); };
  auto where = [&](size_t i) { return nodes_[i].e.mountpoint(); };
  // A group's first mount becomes a slave of its master's group (made
  // first) and then shared; the others join it, master and all.
  std::map<uint32_t, int> state;  // 1: being made, 2: made
  std::function<Result<>(uint32_t)> make = [&](uint32_t g) -> Result<> {
    int& st = state[g];
    if (st == 2) return {};
    if (st == 1) return MakeError(EINVAL, "peer group {} is a slave of itself", g);
    st = 1;
    const std::vector<size_t>& m = members[g];
    size_t f = m[0];
    const auto& e = nodes_[f].e;
    if (const Node* peer = WidePeer(g, e)) {
      // A peer in another mount namespace of the tree, made before: joined
      // (its master with it); the others here join this one.
      CRYO_TRY_CTX(JoinPeers(peer->mnt.get(), mnt(f)), "mount {} (peer {} of {} in another namespace)", where(f),
                   peer->e.mnt_id(), peer->e.mountpoint());
    } else if (e.has_master_id() && members.count(e.master_id())) {
      CRYO_TRY(make(e.master_id()));
      CRYO_TRY_CTX(JoinPeers(mnt(members[e.master_id()][0]), mnt(f)), "mount {}", where(f));
      CRYO_TRY_CTX(SetPropagationOf(mnt(f), MS_SLAVE), "mount {}", where(f));
    } else if (const Node* master = e.has_master_id() ? WidePeer(e.master_id(), e) : nullptr) {
      CRYO_TRY_CTX(JoinPeers(master->mnt.get(), mnt(f)), "mount {} (its master in another namespace)", where(f));
      CRYO_TRY_CTX(SetPropagationOf(mnt(f), MS_SLAVE), "mount {}", where(f));
    } else if (e.has_master_id() && nodes_[f].anchor) {
      CRYO_TRY_CTX(JoinPeers(nodes_[f].anchor.get(), mnt(f)), "mount {} (its master outside the tree)", where(f));
      CRYO_TRY_CTX(SetPropagationOf(mnt(f), MS_SLAVE), "mount {}", where(f));
    } else if (e.has_master_id()) {
      log_.Warn("mount {}: its master (peer group {}) is outside the tree: restored without it", where(f), e.master_id());
    }
    CRYO_TRY_CTX(SetPropagationOf(mnt(f), MS_SHARED), "mount {}", where(f));
    for (size_t k = 1; k < m.size(); k++) CRYO_TRY_CTX(JoinPeers(mnt(f), mnt(m[k])), "mount {}", where(m[k]));
    state[g] = 2;
    return {};
  };
  for (const auto& [g, m] : members) CRYO_TRY(make(g));
  for (size_t i = 0; i < nodes_.size(); i++) {
    const auto& e = nodes_[i].e;
    if (!e.has_master_id() || e.has_shared_id()) continue;
    auto it = members.find(e.master_id());
    if (it == members.end())
      if (const Node* master = WidePeer(e.master_id(), e)) {
        CRYO_TRY_CTX(JoinPeers(master->mnt.get(), mnt(i)), "mount {} (its master in another namespace)", where(i));
        CRYO_TRY_CTX(SetPropagationOf(mnt(i), MS_SLAVE), "mount {}", where(i));
        continue;
      }
    if (it == members.end() && nodes_[i].anchor) {
      // A slave of the group of cryo's mount it was bound from.
      CRYO_TRY_CTX(JoinPeers(nodes_[i].anchor.get(), mnt(i)), "mount {} (its master outside the tree)", where(i));
      CRYO_TRY_CTX(SetPropagationOf(mnt(i), MS_SLAVE), "mount {}", where(i));
      continue;
    }
    if (it == members.end()) {
      log_.Warn("mount {}: its master (peer group {}) is outside the tree: restored private", where(i), e.master_id());
      continue;
    }
    CRYO_TRY_CTX(JoinPeers(mnt(it->second[0]), mnt(i)), "mount {}", where(i));
    CRYO_TRY_CTX(SetPropagationOf(mnt(i), MS_SLAVE), "mount {}", where(i));
  }
  // Unbindable last of all: some of the binds above may come from it.
  for (Node& n : nodes_)
    if (n.e.flags() & MS_UNBINDABLE) CRYO_TRY_CTX(SetPropagationOf(n.mnt.get(), MS_UNBINDABLE), "mount {}", n.e.mountpoint());
  return {};
}

Result<> MountTree::Finish(pid_t root) {
  UniqueFd pidns = CRYO_TRY(Open(fmt::format("/proc/{}/ns/pid", root), O_RDONLY));
  for (size_t i : order_) {
    Node& n = nodes_[i];
    bool proc = static_cast<Fstype>(n.e.fstype()) == Fstype::kProc && n.anew;
    CRYO_TRY_CTX(Make(n, proc ? pidns.get() : -1), "mount {}", n.e.mountpoint());
  }
  for (Node& n : nodes_) CRYO_TRY_CTX(SetFlags(n), "mount {}", n.e.mountpoint());
  CRYO_TRY(SetPropagation());
  log_.Info("mount namespace: {} mounts", nodes_.size());
  return {};
}

Result<> MountTree::Pivot() {
  if (::fchdir(root_fd_.get()) != 0) return ErrnoError("enter the tree's root");
  // pivot_root refuses a shared new root (here its own put_old), and
  // LXC's root is shared: private for the pivot, then back in its peer
  // group (with a peer of it in the tree, or a group of its own).
  const Node& root = nodes_[0];
  if (root.e.has_shared_id()) CRYO_TRY_CTX(SetPropagationOf(root.mnt.get(), MS_PRIVATE), "the root mount");
  if (::syscall(SYS_pivot_root, ".", ".") != 0) return ErrnoError("pivot_root");
  if (::umount2(".", MNT_DETACH) != 0) return ErrnoError("detach cryo's mounts from the tree's namespace");
  if (root.e.has_shared_id()) {
    // A peer brings its master along; with none, the root is made a
    // slave of its master's group again (when that is in the tree).
    const Node* peer = nullptr;
    for (size_t i = 1; i < nodes_.size() && !peer; i++) {
      const auto& e = nodes_[i].e;
      if (nodes_[i].mnt && e.has_shared_id() && e.shared_id() == root.e.shared_id() &&
          e.root_dev() == root.e.root_dev() && IsBelow(root.e.root(), e.root()))
        peer = &nodes_[i];
    }
    if (!peer) peer = WidePeer(root.e.shared_id(), root.e);
    const Node* master = nullptr;
    for (size_t i = 1; i < nodes_.size(); i++) {
      const auto& e = nodes_[i].e;
      if (!peer && e.has_shared_id() && e.shared_id() == root.e.shared_id()) peer = &nodes_[i];
      if (!master && root.e.has_master_id() && e.has_shared_id() && e.shared_id() == root.e.master_id())
        master = &nodes_[i];
    }
    if (peer) {
      CRYO_TRY_CTX(JoinPeers(peer->mnt.get(), root.mnt.get()), "the root mount");
    } else {
      if (master) {
        CRYO_TRY_CTX(JoinPeers(master->mnt.get(), root.mnt.get()), "the root mount");
        CRYO_TRY_CTX(SetPropagationOf(root.mnt.get(), MS_SLAVE), "the root mount");
      }
      CRYO_TRY_CTX(SetPropagationOf(root.mnt.get(), MS_SHARED), "the root mount");
    }
  }
  return Leave();
}

Result<> MountTree::Leave() {
  if (!inside_) return {};
  if (::setns(own_ns_.get(), CLONE_NEWNS) != 0) return ErrnoError("back to cryo's mount namespace");
  inside_ = false;
  if (::fchdir(own_cwd_.get()) != 0) return ErrnoError("back to cryo's directory");
  return {};
}

namespace {

// The id the kernel gives the mount `fd` is on, 0 if unknown.
uint64_t MountIdOf(int fd) {
  struct statx sx{};
  if (::statx(fd, "", AT_EMPTY_PATH, STATX_MNT_ID, &sx) != 0 || !(sx.stx_mask & STATX_MNT_ID)) return 0;
  return sx.stx_mnt_id;
}

}  // namespace

Result<std::optional<UniqueFd>> MountTree::OpenHidden(int mnt_id, const std::string& path, int flags) const {
  const Node* at = nullptr;
  for (const Node& n : nodes_)
    if (static_cast<int>(n.e.mnt_id()) == mnt_id && n.mnt) at = &n;
  if (!at) return std::nullopt;
  uint64_t mine = MountIdOf(at->mnt.get());
  if (mine == 0) return MakeError(ENOTSUP, "statx cannot tell the mount of {} (STATX_MNT_ID)", at->e.mountpoint());
  auto by_path = OpenInRoot(root_fd_.get(), path, O_PATH);
  if (by_path && MountIdOf(by_path->get()) == mine) return std::nullopt;
  // A file of /proc/PID of a process not forked yet: the task opens it by
  // its path once the whole tree exists.
  if (!by_path && by_path.error().err() == ENOENT && at->e.fstype() == img::PROC) return std::nullopt;
  if (!IsBelow(path, at->e.mountpoint()))
    return MakeError(EINVAL, "{} is not below {}, the mount it was on", path, at->e.mountpoint());
  std::string rel = RelativeTo(path, at->e.mountpoint());
  // A copy of that mount alone: what is mounted below the file's
  // directory (on it or on a parent) is not in the way.
  UniqueFd alone(::open_tree(at->mnt.get(), "", OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_EMPTY_PATH));
  if (!alone) return ErrnoError("a copy of the mount at {}", at->e.mountpoint());
  open_how how{};
  how.flags = static_cast<uint64_t>(flags | O_CLOEXEC);
  how.resolve = RESOLVE_BENEATH | RESOLVE_NO_XDEV | RESOLVE_NO_MAGICLINKS;
  long fd = ::syscall(SYS_openat2, alone.get(), rel.empty() ? "." : rel.c_str(), &how, sizeof how);
  if (fd < 0) return ErrnoError("open {} on the mount beneath {}", path, at->e.mountpoint());
  log_.Info("{}: opened on its mount at {}, which another mount covers", path, at->e.mountpoint());
  return std::optional<UniqueFd>(UniqueFd(static_cast<int>(fd)));
}

bool MountTree::Has(int mnt_id) const {
  return std::any_of(nodes_.begin(), nodes_.end(), [&](const Node& n) { return static_cast<int>(n.e.mnt_id()) == mnt_id; });
}

Result<UniqueFd> MountTree::OpenOn(int mnt_id, const std::string& path, int flags) const {
  auto hidden = CRYO_TRY(OpenHidden(mnt_id, path, flags));
  if (hidden) return std::move(*hidden);
  return OpenInRoot(root_fd_.get(), path, flags | O_CLOEXEC);
}

MountTree::~MountTree() { (void)Leave(); }

}  // namespace cryo::mnt
