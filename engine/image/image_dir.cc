#include "engine/image/image_dir.h"

#include <fcntl.h>
#include <unistd.h>

namespace cryo {

Result<UniqueFd> OpenImageDir(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return ErrnoError("open images directory {}", path);
  return UniqueFd(fd);
}

Result<> SyncImageDir(int dirfd) {
  if (::syncfs(dirfd) != 0) return ErrnoError("sync images directory");
  return {};
}

}  // namespace cryo
