// Unlinked files of the dump, recreated from their ghost images next to
// where they were, opened by the tasks, and unlinked again when the restore
// is over, whatever its outcome.
#pragma once

#include <sys/types.h>

#include <map>
#include <string>

#include "engine/base/result.h"
#include "engine/restore/image_set.h"

#include "engine/mnt/tree_root.h"

namespace cryo {

class Ghosts {
 public:
  Ghosts() = default;
  Ghosts(const Ghosts&) = delete;
  Ghosts& operator=(const Ghosts&) = delete;
  ~Ghosts();

  // `pid` names the files (.cryo-ghost-PID-ID); `root` is where the
  // tree's paths are.
  Result<> Create(const ImageSet& s, pid_t pid, const mnt::TreeRoot& root = {});
  // Where file `file_id` was recreated, or null if it is not a ghost.
  const std::string* PathOf(uint32_t file_id) const {
    auto it = paths_.find(file_id);
    if (it != paths_.end()) return &it->second;
    it = others_.find(file_id);
    return it == others_.end() ? nullptr : &it->second;
  }
  // Where the ghost of inode `ino` on device `dev` (the kernel's encoding,
  // as ghost_file_entry has it) was made, or null.
  const std::string* PathOfInode(uint32_t dev, uint64_t ino) const {
    auto it = by_inode_.find({dev, ino});
    return it == by_inode_.end() ? nullptr : &it->second;
  }

 private:
  std::map<std::pair<uint32_t, uint64_t>, std::string> by_inode_;
  std::map<uint32_t, std::string> paths_;   // the files made (unlinked at the end)
  std::map<uint32_t, std::string> others_;  // more opens of one of them
  mnt::TreeRoot root_;
};

}  // namespace cryo
