// The other mount namespaces of a restored tree (mountpoints-N images
// beside the root's, named by tasks' mnt_ns_id). Each is made from the
// root's mount namespace once that is built (engine/mnt/mount_restore.h):
// cryo makes a copy of it, builds the dumped tree there on a bind of the
// root's root (binds of the root's mounts taken from the copy), pivots,
// and keeps the namespace for its tasks to join. Their files are opened
// by cryo on the very mount each was on (which namespace's matters: a
// task may hold files of another one).
#pragma once

#include <sys/types.h>

#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>

#include "engine/base/log.h"
#include "engine/base/result.h"
#include "engine/base/unique_fd.h"
#include "engine/image/proto/files.pb.h"
#include "engine/mnt/mount_restore.h"
#include "engine/options/options.h"

namespace cryo::mnt {

class NestedMounts {
 public:
  // Builds `ids` (other than the root's) from `root`, the root's tree,
  // finished and still entered; `tree_root` is the tree's root task.
  static Result<NestedMounts> Make(const std::set<uint32_t>& ids, int images_dir, const Options& opts, Log& log,
                                   MountTree& root, pid_t tree_root);
  bool empty() const { return trees_.empty(); }
  // The namespace `id` as cryo holds it, -1 if not one of these.
  int Ns(uint32_t id) const;
  // Its root directory as cryo holds it, -1 if not one of these.
  int RootFd(uint32_t id) const;
  // A regular file on dumped mount `mnt_id`, opened by cryo on that mount
  // (of `root` or of one of these); nothing if the mount is none of theirs.
  // The root of the namespace dumped mount `mnt_id` is in (`root`'s if
  // it is none of these).
  TreeRoot RootOf(const MountTree& root, int mnt_id) const;
  Result<std::optional<UniqueFd>> Open(const MountTree& root, const img::reg_file_entry& f, int flags) const;

 private:
  std::map<uint32_t, std::unique_ptr<MountTree>> trees_;
};

}  // namespace cryo::mnt
