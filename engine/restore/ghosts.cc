#include "engine/restore/ghosts.h"

#include <fcntl.h>
#include <unistd.h>

#include "engine/base/files.h"
#include "engine/base/unique_fd.h"
#include "engine/image/image_reader.h"
#include "engine/image/image_type.h"

namespace cryo {

Ghosts::~Ghosts() {
  for (auto& [id, path] : paths_) {
    const mnt::TreeRoot& root_ = roots_[id];
    if (root_.is_own()) {
      ::unlink(path.c_str());
      continue;
    }
    size_t slash = path.rfind('/');
    auto dir = mnt::OpenInRoot(root_.fd(), path.substr(0, slash + 1), O_PATH | O_DIRECTORY);
    if (dir) ::unlinkat(dir->get(), path.c_str() + slash + 1, 0);
  }
}

Result<> Ghosts::Create(const ImageSet& s, pid_t pid, const mnt::TreeRoot& tree,
                       const std::function<mnt::TreeRoot(int)>& root_of) {
  std::map<std::pair<uint64_t, uint64_t>, uint32_t> made;  // (dev, ino) -> the file made for it
  for (auto [file_id, ghost_id] : s.ghosts) {
    ImageReader r = CRYO_TRY(ImageReader::Open(s.dir.get(), ImageKind::kGhostFile, ghost_id));
    img::ghost_file_entry g;
    if (!r.present() || !CRYO_TRY(r.Next(g)))
      return MakeError(0, "{} is missing", ImageFileName(ImageKind::kGhostFile, ghost_id));
    if (g.chunks()) return MakeError(ENOTSUP, "{}: chunked ghost files are not supported yet", r.name());
    std::string data = CRYO_TRY(r.ReadPayload(r.file_size() - r.offset()));
    const auto* f = CRYO_TRY(s.File(file_id));
    // Another open of an inode already made, by the same path (the dump
    // refuses other paths): the same file.
    if (auto [it, first] = made.emplace(std::make_pair(g.dev(), g.ino()), file_id); !first) {
      const auto* was = CRYO_TRY(s.File(it->second));
      if (was->name() == f->name()) {
        paths_[file_id] = paths_[it->second];
        roots_[file_id] = roots_[it->second];
        continue;
      }
    }
    // In the namespace of the file's mount; in the root's when that is
    // read-only there.
    mnt::TreeRoot root = root_of && f->mnt_id() >= 0 ? root_of(f->mnt_id()) : tree;
    std::string dir = f->name().substr(0, f->name().rfind('/'));
    // Outside a mount tree of its own, where it was or else by the images.
    if (root.is_own() && (dir.empty() || ::access(dir.c_str(), W_OK) != 0)) dir = s.dir_path;
    std::string path = fmt::format("{}/.cryo-ghost-{}-{}", dir, pid, file_id);
    auto made = root.Open(path, O_WRONLY | O_CREAT | O_EXCL, g.mode() & 07777);
    if (!made && made.error().err() == EROFS && root.fd() != tree.fd()) {
      root = tree;
      made = root.Open(path, O_WRONLY | O_CREAT | O_EXCL, g.mode() & 07777);
    }
    UniqueFd owned = CRYO_TRY_CTX(std::move(made), "create ghost file");
    int fd = owned.get();
    paths_[file_id] = path;
    roots_[file_id] = root;
    CRYO_TRY_CTX(WriteAll(fd, data), "ghost file {}", path);
    if (::fchown(fd, g.uid(), g.gid()) != 0) return ErrnoError("chown ghost file {}", path);
  }
  return {};
}

}  // namespace cryo
