#include "engine/restore/ghosts.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "engine/base/files.h"
#include "engine/base/unique_fd.h"
#include "engine/image/image_reader.h"
#include "engine/image/image_type.h"

namespace cryo {

Ghosts::~Ghosts() {
  for (auto& [id, path] : paths_) {
    if (root_.is_own()) {
      ::unlink(path.c_str());
      continue;
    }
    size_t slash = path.rfind('/');
    auto dir = mnt::OpenInRoot(root_.fd(), path.substr(0, slash + 1), O_PATH | O_DIRECTORY);
    if (dir) ::unlinkat(dir->get(), path.c_str() + slash + 1, 0);
  }
}

namespace {

// The directory `dir` of the tree, for the calls that take a directory fd.
Result<UniqueFd> OpenDir(const mnt::TreeRoot& root, const std::string& dir) {
  return root.Open(dir.empty() ? "/" : dir, O_PATH | O_DIRECTORY);
}

// A FIFO or a symlink of the dump at `path`, owned as it was.
Result<> MakeNode(const img::ghost_file_entry& g, const mnt::TreeRoot& root, const std::string& path) {
  size_t slash = path.rfind('/');
  UniqueFd dir = CRYO_TRY(OpenDir(root, path.substr(0, slash)));
  const char* name = path.c_str() + slash + 1;
  if (S_ISFIFO(g.mode())) {
    if (::mknodat(dir.get(), name, S_IFIFO | (g.mode() & 07777), 0) != 0) return ErrnoError("mknod FIFO {}", path);
  } else if (::symlinkat(g.symlnk_target().c_str(), dir.get(), name) != 0) {
    return ErrnoError("symlink {} -> {}", path, g.symlnk_target());
  }
  if (::fchownat(dir.get(), name, g.uid(), g.gid(), AT_SYMLINK_NOFOLLOW) != 0) return ErrnoError("chown {}", path);
  return {};
}

}  // namespace

Result<> Ghosts::Create(const ImageSet& s, pid_t pid, const mnt::TreeRoot& root) {
  root_ = root;
  std::map<uint32_t, std::string> made;  // ghost id -> path: one file per inode
  for (auto [file_id, ghost_id] : s.ghosts) {
    if (auto m = made.find(ghost_id); m != made.end()) {
      others_[file_id] = m->second;
      continue;
    }
    ImageReader r = CRYO_TRY(ImageReader::Open(s.dir.get(), ImageKind::kGhostFile, ghost_id));
    img::ghost_file_entry g;
    if (!r.present() || !CRYO_TRY(r.Next(g)))
      return MakeError(0, "{} is missing", ImageFileName(ImageKind::kGhostFile, ghost_id));
    if (g.chunks()) return MakeError(ENOTSUP, "{}: chunked ghost files are not supported yet", r.name());
    bool node = S_ISFIFO(g.mode()) || (S_ISLNK(g.mode()) && g.has_symlnk_target());
    if (!node && !S_ISREG(g.mode()))
      return MakeError(ENOTSUP, "{}: an unlinked file of mode {:#o} is not supported", r.name(), g.mode());
    const auto* f = CRYO_TRY(s.File(file_id));
    std::string dir = f->name().substr(0, f->name().rfind('/'));
    // Outside a mount tree of its own, where it was or else by the images.
    if (root.is_own() && (dir.empty() || ::access(dir.c_str(), W_OK) != 0)) dir = s.dir_path;
    std::string path = fmt::format("{}/.cryo-ghost-{}-{}", dir, pid, file_id);
    if (g.has_dev() && g.has_ino()) by_inode_[{g.dev(), g.ino()}] = path;
    if (node) {
      CRYO_TRY_CTX(MakeNode(g, root, path), "create ghost file");
      paths_[file_id] = made[ghost_id] = path;
      continue;
    }
    std::string data = CRYO_TRY(r.ReadPayload(r.file_size() - r.offset()));
    UniqueFd owned = CRYO_TRY_CTX(root.Open(path, O_WRONLY | O_CREAT | O_EXCL, g.mode() & 07777), "create ghost file");
    int fd = owned.get();
    paths_[file_id] = made[ghost_id] = path;
    CRYO_TRY_CTX(WriteAll(fd, data), "ghost file {}", path);
    if (::fchown(fd, g.uid(), g.gid()) != 0) return ErrnoError("chown ghost file {}", path);
  }
  return {};
}

}  // namespace cryo
