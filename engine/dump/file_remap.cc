#include "engine/dump/file_remap.h"

#include <fcntl.h>
#include <linux/fiemap.h>
#include <linux/fs.h>
#include <sys/ioctl.h>
#include <sys/sendfile.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <memory>

#include "engine/base/files.h"
#include "engine/dump/file_table.h"
#include "engine/image/image_writer.h"

namespace cryo {
namespace {

constexpr std::string_view kDeleted = " (deleted)";
// Smaller files go whole into their image, as CRIU writes them.
constexpr uint64_t kChunksFrom = 3 * 4096;
constexpr uint32_t kExtentsPerCall = 512;

Result<std::vector<DataRange>> ByFiemap(int fd, uint64_t size) {
  size_t bytes = sizeof(fiemap) + kExtentsPerCall * sizeof(fiemap_extent);
  auto buf = std::make_unique<uint64_t[]>((bytes + 7) / 8);
  auto* fm = reinterpret_cast<fiemap*>(buf.get());
  std::vector<DataRange> out;
  uint64_t at = 0;
  while (at < size) {
    std::fill_n(buf.get(), (bytes + 7) / 8, 0);
    fm->fm_start = at;
    fm->fm_length = FIEMAP_MAX_OFFSET - at;
    fm->fm_flags = FIEMAP_FLAG_SYNC;
    fm->fm_extent_count = kExtentsPerCall;
    if (::ioctl(fd, FS_IOC_FIEMAP, fm) != 0) return ErrnoError("FIEMAP");
    if (fm->fm_mapped_extents == 0) break;
    bool last = false;
    for (uint32_t i = 0; i < fm->fm_mapped_extents; i++) {
      const fiemap_extent& e = fm->fm_extents[i];
      last |= e.fe_flags & FIEMAP_EXTENT_LAST;
      uint64_t start = std::max<uint64_t>(e.fe_logical, at), end = std::min<uint64_t>(e.fe_logical + e.fe_length, size);
      if (start < end) out.push_back({start, end - start});
      at = std::max<uint64_t>(at, e.fe_logical + e.fe_length);
    }
    if (last) break;
  }
  return out;
}

Result<std::vector<DataRange>> BySeek(int fd, uint64_t size) {
  std::vector<DataRange> out;
  off_t at = 0;
  while (static_cast<uint64_t>(at) < size) {
    off_t data = ::lseek(fd, at, SEEK_DATA);
    if (data < 0 && errno == ENXIO) break;  // only a hole is left
    if (data < 0 && at == 0) return std::vector<DataRange>{{0, size}};  // no SEEK_DATA here
    if (data < 0) return ErrnoError("SEEK_DATA from {}", at);
    off_t hole = ::lseek(fd, data, SEEK_HOLE);
    if (hole < 0) return ErrnoError("SEEK_HOLE from {}", data);
    uint64_t end = std::min<uint64_t>(static_cast<uint64_t>(hole), size);
    if (static_cast<uint64_t>(data) < end) out.push_back({static_cast<uint64_t>(data), end - data});
    at = hole;
  }
  return out;
}

// `len` bytes of `fd` from `off` on, appended to the image.
Result<> CopyOut(int fd, uint64_t off, uint64_t len, int img) {
  auto pos = static_cast<off_t>(off);
  while (len > 0) {
    ssize_t n = ::sendfile(img, fd, &pos, std::min<uint64_t>(len, 1ULL << 30));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return ErrnoError("copy {} bytes at {}", len, pos);
    if (n == 0) return MakeError(EIO, "file ended at {} ({} bytes short)", pos, len);
    len -= static_cast<uint64_t>(n);
  }
  return {};
}

// A ghost image keeps no inode flags (chattr): a file that is append-only
// or immutable would come back without, so it is refused. The others come
// from the directory the ghost is made in, as they came at first.
Result<> CheckAttrs(int fd, const std::string& what) {
  int flags = 0;
  if (::ioctl(fd, FS_IOC_GETFLAGS, &flags) != 0) return {};  // a filesystem without them
  if (flags & (FS_APPEND_FL | FS_IMMUTABLE_FL))
    return MakeError(ENOTSUP, "{} (unlinked) is {} (chattr): a ghost file cannot keep that", what,
                     (flags & FS_APPEND_FL) ? "append-only" : "immutable");
  return {};
}

img::timeval Timeval(const struct timespec& t) {
  img::timeval v;
  v.set_tv_sec(static_cast<uint64_t>(t.tv_sec));
  v.set_tv_usec(static_cast<uint64_t>(t.tv_nsec / 1000));
  return v;
}

}  // namespace

bool StripDeleted(std::string& link) {
  if (!link.ends_with(kDeleted)) return false;
  link.resize(link.size() - kDeleted.size());
  return true;
}

Result<std::vector<DataRange>> DataRanges(int fd, uint64_t size, bool fiemap) {
  if (fiemap) {
    auto r = ByFiemap(fd, size);
    if (r || r.error().err() != EOPNOTSUPP) return r;
  }
  return BySeek(fd, size);
}

FileRemaps::~FileRemaps() {
  if (kept_) return;
  for (const auto& l : made_) ::unlink(l.c_str());
}

Result<> FileRemaps::Remap(uint32_t id, const std::string& path, const std::string& proc, const struct stat& st,
                           const std::string& view, const std::string& what, FileTable& files) {
  img::remap_file_path_entry e;
  e.set_orig_id(id);
  if (st.st_nlink == 0 || S_ISDIR(st.st_mode)) {
    e.set_remap_id(CRYO_TRY(Ghost(proc, st, fmt::format("{}: {}", what, path))));
    e.set_remap_type(img::GHOST);
  } else {
    e.set_remap_id(CRYO_TRY(Link(path, proc, st, view, what, files)));
    e.set_remap_type(img::LINKED);
  }
  entries_.push_back(std::move(e));
  return {};
}

namespace {

// What an unlinked symlink held open (O_PATH|O_NOFOLLOW) points to: the
// magic link leads to the symlink itself, not through it.
Result<std::string> SymlinkTarget(const std::string& proc) {
  UniqueFd f = CRYO_TRY(Open(proc, O_PATH));
  char buf[4096];
  ssize_t n = ::readlinkat(f.get(), "", buf, sizeof buf);
  if (n < 0) return ErrnoError("read the target of {}", proc);
  if (static_cast<size_t>(n) == sizeof buf) return MakeError(ENAMETOOLONG, "the target of {}", proc);
  return std::string(buf, static_cast<size_t>(n));
}

}  // namespace

Result<uint32_t> FileRemaps::Ghost(const std::string& proc, const struct stat& st, const std::string& what) {
  auto key = std::make_pair(st.st_dev, st.st_ino);
  if (auto it = ghosts_.find(key); it != ghosts_.end()) return it->second;
  bool reg = S_ISREG(st.st_mode);
  if (!reg && !S_ISDIR(st.st_mode) && !S_ISCHR(st.st_mode) && !S_ISBLK(st.st_mode) && !S_ISFIFO(st.st_mode) &&
      !S_ISLNK(st.st_mode))
    return MakeError(ENOTSUP, "{} (unlinked) is of mode {:o}: not supported", what, st.st_mode);
  uint64_t held = static_cast<uint64_t>(st.st_blocks) * 512;
  if (reg && held > opts_.ghost_limit)
    return MakeError(EFBIG, "{} (unlinked) holds {} bytes of data, over the ghost limit ({} bytes, --ghost-limit)",
                     what, held, opts_.ghost_limit);
  uint32_t gid = next_ghost_++;
  img::ghost_file_entry g;
  g.set_uid(st.st_uid);
  g.set_gid(st.st_gid);
  g.set_mode(st.st_mode);
  g.set_dev(static_cast<uint32_t>((major(st.st_dev) << 20) | minor(st.st_dev)));
  g.set_ino(st.st_ino);
  if (S_ISCHR(st.st_mode) || S_ISBLK(st.st_mode)) g.set_rdev(static_cast<uint32_t>(st.st_rdev));
  if (S_ISLNK(st.st_mode)) g.set_symlnk_target(CRYO_TRY_CTX(SymlinkTarget(proc), "{}", what));
  *g.mutable_atim() = Timeval(st.st_atim);
  *g.mutable_mtim() = Timeval(st.st_mtim);
  auto size = static_cast<uint64_t>(st.st_size);
  bool chunks = reg && size >= kChunksFrom;
  if (chunks) {
    g.set_chunks(true);
    g.set_size(size);
  }
  // Opened anew: the task's own fd may be write-only.
  UniqueFd f;
  if (reg) {
    f = CRYO_TRY_CTX(Open(proc, O_RDONLY | O_CLOEXEC), "{}", what);
    CRYO_TRY(CheckAttrs(f.get(), what));
  }
  ImageWriter w(dir_, ImageKind::kGhostFile, gid);
  CRYO_TRY(w.Write(g));
  if (reg) {
    int img = CRYO_TRY(w.RawFd());
    if (!chunks) {
      CRYO_TRY_CTX(CopyOut(f.get(), 0, size, img), "{} (unlinked)", what);
    } else {
      for (DataRange r : CRYO_TRY_CTX(DataRanges(f.get(), size, opts_.ghost_fiemap), "{} (unlinked)", what)) {
        img::ghost_chunk_entry c;
        c.set_len(r.len);
        c.set_off(r.off);
        CRYO_TRY(w.Write(c));
        img = CRYO_TRY(w.RawFd());
        CRYO_TRY_CTX(CopyOut(f.get(), r.off, r.len, img), "{} (unlinked)", what);
      }
    }
  }
  CRYO_TRY(w.Close());
  ghosts_[key] = gid;
  return gid;
}

Result<uint32_t> FileRemaps::Link(const std::string& path, const std::string& proc, const struct stat& st,
                                  const std::string& view, const std::string& what, FileTable& files) {
  auto key = std::make_pair(st.st_dev, st.st_ino);
  if (auto it = links_.find(key); it != links_.end()) return it->second;
  if (!opts_.link_remap)
    return MakeError(ENOTSUP, "{}: {} was unlinked, but other links to it remain: dump with --link-remap", what, path);
  uint32_t id = files.NextId();
  // Beside where it was; further up where that directory is gone too.
  std::string dir = path.substr(0, path.rfind('/'));
  while (true) {
    std::string link = fmt::format("{}/link_remap.{}", dir, id);
    std::string there = view + link;
    if (::linkat(AT_FDCWD, proc.c_str(), AT_FDCWD, there.c_str(), AT_SYMLINK_FOLLOW) == 0) {
      made_.push_back(there);
      files.AddRegWithId(id, link, O_RDONLY, 0, st);
      links_[key] = id;
      return id;
    }
    if ((errno != ENOENT && errno != ENOTDIR) || dir.empty())
      return ErrnoError("{}: link {} to {} (--link-remap)", what, path, link);
    dir.resize(dir.rfind('/'));
  }
}

Result<> FileRemaps::Write() {
  ImageWriter w(dir_, ImageKind::kRemapFpath);
  for (const auto& e : entries_) CRYO_TRY(w.Write(e));
  return w.Close();
}

}  // namespace cryo
