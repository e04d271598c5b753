// Unlinked files of the dump, recreated from their ghost images next to
// where they were, opened by the tasks, and unlinked again when the restore
// is over, whatever its outcome.
#pragma once

#include <functional>

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
  // `root_of`, when given, names the root for a file of dumped mount
  // MNT_ID (a tree with several mount namespaces).
  Result<> Create(const ImageSet& s, pid_t pid, const mnt::TreeRoot& root = {},
                  const std::function<mnt::TreeRoot(int)>& root_of = {});
  // Where file `file_id` was recreated, or null if it is not a ghost.
  const std::string* PathOf(uint32_t file_id) const {
    auto it = paths_.find(file_id);
    return it == paths_.end() ? nullptr : &it->second;
  }

 private:
  std::map<uint32_t, std::string> paths_;
  std::map<uint32_t, mnt::TreeRoot> roots_;  // where each was made
};

}  // namespace cryo
