#include "engine/mnt/tree_root.h"

#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "engine/base/files.h"

namespace cryo::mnt {

Result<UniqueFd> OpenInRoot(int dir, const std::string& path, int flags, mode_t mode) {
  open_how how{};
  how.flags = static_cast<uint64_t>(flags | O_CLOEXEC);
  how.mode = (flags & (O_CREAT | O_TMPFILE)) ? mode : 0;
  how.resolve = RESOLVE_IN_ROOT;
  long fd = ::syscall(SYS_openat2, dir, path.c_str(), &how, sizeof how);
  if (fd < 0) return ErrnoError("open {}", path);
  return UniqueFd(static_cast<int>(fd));
}

Result<UniqueFd> TreeRoot::Open(const std::string& path, int flags, mode_t mode) const {
  if (is_own()) return cryo::Open(path, flags, mode);
  return OpenInRoot(dir_, path, flags, mode);
}

Result<> TreeRoot::Within(const std::function<Result<>()>& fn) const {
  if (is_own()) return fn();
  UniqueFd root = CRYO_TRY(cryo::Open("/", O_PATH | O_DIRECTORY));
  UniqueFd cwd = CRYO_TRY(cryo::Open(".", O_PATH | O_DIRECTORY));
  if (::fchdir(dir_) != 0 || ::chroot(".") != 0) {
    int e = errno;
    (void)::fchdir(cwd.get());
    return MakeError(e, "enter the tree's root");
  }
  Result<> r = fn();
  // Back to cryo's own: a failure here would leave cryo lost, say so.
  if (::fchdir(root.get()) != 0 || ::chroot(".") != 0 || ::fchdir(cwd.get()) != 0)
    return ErrnoError("leave the tree's root");
  return r;
}

}  // namespace cryo::mnt
