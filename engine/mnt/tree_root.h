// Where the paths of a restored tree resolve. A tree in cryo's own mount
// namespace uses cryo's root; a tree with a mount namespace of its own
// has its root directory there, which cryo (still in its own view of the
// world for /proc and the images) reaches through a directory fd, never by
// joining strings: openat2(RESOLVE_IN_ROOT) keeps ".." and absolute
// symlinks inside it.
#pragma once

#include <sys/types.h>

#include <functional>
#include <string>

#include "engine/base/result.h"
#include "engine/base/unique_fd.h"

namespace cryo::mnt {

class TreeRoot {
 public:
  TreeRoot() = default;                       // cryo's own root
  explicit TreeRoot(int dir) : dir_(dir) {}   // not owned
  bool is_own() const { return dir_ < 0; }
  int fd() const { return dir_; }

  Result<UniqueFd> Open(const std::string& path, int flags, mode_t mode = 0) const;
  // Runs `fn` with cryo's root changed to the tree's, for the calls that
  // take a path and no directory fd (bind and connect of unix sockets).
  Result<> Within(const std::function<Result<>()>& fn) const;

 private:
  int dir_ = -1;
};

// openat2(dir, path, RESOLVE_IN_ROOT): `path` as the tree sees it.
Result<UniqueFd> OpenInRoot(int dir, const std::string& path, int flags, mode_t mode = 0);

}  // namespace cryo::mnt
