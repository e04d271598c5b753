#include "engine/restore/ghosts.h"

#include <fcntl.h>
#include <linux/mount.h>
#include <sys/sendfile.h>
#include <sys/syscall.h>
#include <sys/stat.h>
#include <unistd.h>

#include <tuple>

#include "engine/base/files.h"
#include "engine/image/image_reader.h"
#include "engine/image/image_type.h"

namespace cryo {
namespace {

std::string Dirname(const std::string& path) {
  size_t slash = path.rfind('/');
  return slash == 0 || slash == std::string::npos ? "/" : path.substr(0, slash);
}

std::string Join(const std::string& dir, const std::string& name) {
  return dir == "/" ? "/" + name : dir + "/" + name;
}

Result<UniqueFd> Dup(int fd) {
  int d = ::fcntl(fd, F_DUPFD_CLOEXEC, 0);
  if (d < 0) return ErrnoError("dup");
  return UniqueFd(d);
}

// A copy of the mount `dir` is on, rooted at `dir`, that is not read-only
// (in cryo's mount namespace: the tree's while its mounts are made).
Result<UniqueFd> WritableClone(int dir) {
  long fd = ::syscall(SYS_open_tree, dir, "", OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_EMPTY_PATH);
  if (fd < 0) return ErrnoError("copy the mount");
  UniqueFd clone(static_cast<int>(fd));
  mount_attr attr{};
  attr.attr_clr = MOUNT_ATTR_RDONLY;
  if (::syscall(SYS_mount_setattr, clone.get(), "", AT_EMPTY_PATH, &attr, sizeof attr) != 0)
    return ErrnoError("make the copy writable");
  return clone;
}

// `len` bytes of the image from `from` on, into `fd` at `off`.
Result<> CopyIn(int img, uint64_t from, int fd, uint64_t off, uint64_t len) {
  if (::lseek(fd, static_cast<off_t>(off), SEEK_SET) < 0) return ErrnoError("seek to {}", off);
  auto pos = static_cast<off_t>(from);
  while (len > 0) {
    ssize_t n = ::sendfile(fd, img, &pos, std::min<uint64_t>(len, 1ULL << 30));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return ErrnoError("write {} bytes at {}", len, off);
    if (n == 0) return MakeError(EIO, "image ended {} bytes short", len);
    len -= static_cast<uint64_t>(n);
  }
  return {};
}

// The contents after the ghost's entry: whole, or in chunks around holes.
Result<> FillGhost(ImageReader& r, const img::ghost_file_entry& g, int fd) {
  if (!g.chunks()) {
    uint64_t len = r.file_size() - r.offset();
    CRYO_TRY(CopyIn(r.fd(), r.offset(), fd, 0, len));
    return r.SkipPayload(len);
  }
  if (!g.has_size()) return MakeError(EINVAL, "{}: chunks without a size", r.name());
  if (::ftruncate(fd, static_cast<off_t>(g.size())) != 0) return ErrnoError("size to {}", g.size());
  img::ghost_chunk_entry c;
  while (CRYO_TRY(r.Next(c))) {
    if (c.off() > g.size() || c.len() > g.size() - c.off())
      return MakeError(EINVAL, "{}: chunk {}+{} past the size {}", r.name(), c.off(), c.len(), g.size());
    if (c.len() > r.file_size() - r.offset()) return MakeError(EINVAL, "{}: truncated chunk at {}", r.name(), c.off());
    CRYO_TRY(CopyIn(r.fd(), r.offset(), fd, c.off(), c.len()));
    CRYO_TRY(r.SkipPayload(c.len()));
  }
  return {};
}

// Owner, mode (after the owner: chown drops set-id bits) and times.
Result<> SetAttrs(int fd, const img::ghost_file_entry& g) {
  std::string self = fmt::format("/proc/self/fd/{}", fd);
  if (::chown(self.c_str(), g.uid(), g.gid()) != 0) return ErrnoError("chown to {}:{}", g.uid(), g.gid());
  if (::chmod(self.c_str(), g.mode() & 07777) != 0) return ErrnoError("chmod to {:o}", g.mode() & 07777);
  if (!g.has_atim() || !g.has_mtim()) return {};
  struct timespec ts[2];
  ts[0].tv_sec = static_cast<time_t>(g.atim().tv_sec());
  ts[0].tv_nsec = static_cast<long>(g.atim().tv_usec() * 1000);
  ts[1].tv_sec = static_cast<time_t>(g.mtim().tv_sec());
  ts[1].tv_nsec = static_cast<long>(g.mtim().tv_usec() * 1000);
  if (::utimensat(AT_FDCWD, self.c_str(), ts, 0) != 0) return ErrnoError("set times");
  return {};
}

}  // namespace

void Ghosts::Remove(bool links) {
  for (auto it = made_.rbegin(); it != made_.rend(); ++it) {
    if (!it->dir || it->link != links) continue;
    ::unlinkat(it->dir.get(), it->name.c_str(), it->is_dir ? AT_REMOVEDIR : 0);
    it->dir.reset();
  }
}

Ghosts::~Ghosts() {
  Remove(false);
  if (restored_) Remove(true);
}

Result<std::pair<UniqueFd, std::string>> Ghosts::DirFor(const mnt::TreeRoot& root, const std::string& path,
                                                        bool make_parents) {
  std::string dir = Dirname(path);
  std::vector<std::string> missing;
  while (true) {
    auto fd = root.Open(dir, O_PATH | O_DIRECTORY);
    if (fd) {
      // A ghost directory is made where it was, parents and all.
      for (; make_parents && !missing.empty(); missing.pop_back()) {
        if (::mkdirat(fd->get(), missing.back().c_str(), 0700) != 0)
          return ErrnoError("make directory {} for a ghost", Join(dir, missing.back()));
        made_.push_back({CRYO_TRY(Dup(fd->get())), missing.back(), true});
        dir = Join(dir, missing.back());
        fd = CRYO_TRY(root.Open(dir, O_PATH | O_DIRECTORY));
      }
      return std::make_pair(std::move(*fd), dir);
    }
    int err = fd.error().err();
    if ((err != ENOENT && err != ENOTDIR) || dir == "/") return std::unexpected(fd.error());
    missing.push_back(dir.substr(dir.rfind('/') + 1));
    dir = Dirname(dir);
  }
}

Result<std::string> Ghosts::CreateGhost(const ImageSet& s, uint32_t ghost_id, const std::string& orig, pid_t pid,
                                        const mnt::TreeRoot& root) {
  ImageReader r = CRYO_TRY(ImageReader::Open(s.dir.get(), ImageKind::kGhostFile, ghost_id));
  img::ghost_file_entry g;
  if (!r.present() || !CRYO_TRY(r.Next(g)))
    return MakeError(0, "{} is missing", ImageFileName(ImageKind::kGhostFile, ghost_id));
  mode_t mode = g.mode();
  bool dir = S_ISDIR(mode);
  auto [dfd, where] = CRYO_TRY(DirFor(root, orig, dir));
  // A directory under its own name (a cwd shows it); the others beside it.
  std::string name = orig.substr(orig.rfind('/') + 1);
  if (!dir || name.empty() || ::faccessat(dfd.get(), name.c_str(), F_OK, AT_SYMLINK_NOFOLLOW) == 0)
    name = fmt::format(".cryo-ghost-{}-{}", pid, ghost_id);
  std::string path = Join(where, name);
  if ((S_ISCHR(mode) || S_ISBLK(mode)) && !g.has_rdev())
    return MakeError(EINVAL, "{}: a device without its number", r.name());
  bool symlink = S_ISLNK(mode) && g.has_symlnk_target();
  if (!dir && !symlink && !S_ISREG(mode) && !S_ISCHR(mode) && !S_ISBLK(mode) && !S_ISFIFO(mode))
    return MakeError(ENOTSUP, "{}: a ghost of mode {:o} is not supported", r.name(), mode);
  if (g.has_dev() && g.has_ino()) by_inode_[{g.dev(), g.ino()}] = path;
  if (symlink) {
    // A symlink held open with O_PATH|O_NOFOLLOW: made again with its
    // target, owned as it was (a symlink's mode is always 0777).
    if (::symlinkat(g.symlnk_target().c_str(), dfd.get(), name.c_str()) != 0)
      return ErrnoError("symlink {} -> {}", path, g.symlnk_target());
    made_.push_back({CRYO_TRY(Dup(dfd.get())), name, false});
    if (::fchownat(dfd.get(), name.c_str(), g.uid(), g.gid(), AT_SYMLINK_NOFOLLOW) != 0)
      return ErrnoError("chown {}", path);
    return path;
  }
  // A regular file comes back open for its contents.
  auto make = [&](int at) -> int {
    if (dir) return ::mkdirat(at, name.c_str(), 0700);
    if (!S_ISREG(mode)) return ::mknodat(at, name.c_str(), (mode & S_IFMT) | 0600, static_cast<dev_t>(g.rdev()));  // FIFO: 0
    return ::openat(at, name.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  };
  int made = make(dfd.get());
  if (made < 0 && errno == EROFS && root.fd() != root_.fd()) {
    // Read-only in another mount namespace of the tree: made in the
    // root's, where a copy of the mount can be made writable.
    std::tie(dfd, where) = CRYO_TRY(DirFor(root_, orig, dir));
    path = Join(where, name);
    if (g.has_dev() && g.has_ino()) by_inode_[{g.dev(), g.ino()}] = path;
    made = make(dfd.get());
  }
  if (made < 0 && errno == EROFS) {
    // A read-only mount of a writable filesystem: made through a writable
    // copy of the mount, the same directory for the tree's path.
    dfd = CRYO_TRY_CTX(WritableClone(dfd.get()), "ghost {} on a read-only mount", path);
    made = make(dfd.get());
  }
  if (made < 0) return ErrnoError("create ghost {}", path);
  UniqueFd fd(S_ISREG(mode) ? made : -1);
  made_.push_back({CRYO_TRY(Dup(dfd.get())), name, dir});
  if (!fd) {
    int got = ::openat(dfd.get(), name.c_str(), O_PATH | O_NOFOLLOW | O_CLOEXEC);
    if (got < 0) return ErrnoError("open ghost {}", path);
    fd = UniqueFd(got);
  }
  if (S_ISREG(mode)) CRYO_TRY_CTX(FillGhost(r, g, fd.get()), "ghost file {}", path);
  CRYO_TRY_CTX(SetAttrs(fd.get(), g), "ghost {}", path);
  return path;
}

Result<> Ghosts::Create(const ImageSet& s, pid_t pid, const mnt::TreeRoot& root,
                       const std::function<mnt::TreeRoot(int)>& root_of) {
  root_ = root;
  std::map<uint32_t, std::string> by_ghost;
  for (auto [file_id, ghost_id] : s.ghosts) {
    const auto* f = CRYO_TRY(s.File(file_id));
    auto it = by_ghost.find(ghost_id);
    if (it == by_ghost.end()) {
      // In the namespace of the file's mount (a tree with several).
      mnt::TreeRoot in = root_of && f->mnt_id() >= 0 ? root_of(f->mnt_id()) : root;
      std::string path = CRYO_TRY_CTX(CreateGhost(s, ghost_id, f->name(), pid, in), "{}", f->name());
      it = by_ghost.emplace(ghost_id, std::move(path)).first;
    }
    // Every open by that path (in another namespace of the tree: opened on
    // its own mount there, the dump refuses other paths).
    paths_[file_id] = it->second;
  }
  for (auto [file_id, link_id] : s.links) {
    const std::string& link = CRYO_TRY(s.File(link_id))->name();
    paths_[file_id] = link;
    auto [dfd, where] = CRYO_TRY(DirFor(root_, link, false));
    (void)where;
    made_.push_back({std::move(dfd), link.substr(link.rfind('/') + 1), false, true});
  }
  return {};
}

}  // namespace cryo
