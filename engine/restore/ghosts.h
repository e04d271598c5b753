// Files of the dump no path led to (remap-fpath.img): each ghost (an
// unlinked file, directory or device node) is recreated once from its
// ghost image, next to where it was, for every file entry that names it;
// links made at dump (--link-remap) are opened as they are. When the
// restore is over, whatever its outcome, ghosts and links are unlinked
// again, so the tasks hold unlinked files as before.
#pragma once

#include <functional>

#include <sys/types.h>

#include <map>
#include <string>
#include <vector>

#include "engine/base/result.h"
#include "engine/base/unique_fd.h"
#include "engine/image/proto/files.pb.h"
#include "engine/mnt/tree_root.h"
#include "engine/restore/image_set.h"

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
  // MNT_ID (a tree with several mount namespaces): its ghost is made in
  // that namespace.
  Result<> Create(const ImageSet& s, pid_t pid, const mnt::TreeRoot& root = {},
                  const std::function<mnt::TreeRoot(int)>& root_of = {});
  // Where file `file_id` is opened instead of by its name (its ghost or
  // its link), or null when it is not remapped.
  // Every task holds what it needs: the ghosts go, before the tree runs.
  void RemoveGhosts() { Remove(false); }
  // The tree runs: the links made at dump go too (a failed restore keeps
  // them for the next try).
  void Restored() {
    restored_ = true;
    Remove(true);
  }
  const std::string* PathOf(uint32_t file_id) const {
    auto it = paths_.find(file_id);
    return it == paths_.end() ? nullptr : &it->second;
  }
  // Where the ghost of inode `ino` on device `dev` (the kernel's encoding,
  // as ghost_file_entry has it) was made, or null.
  const std::string* PathOfInode(uint32_t dev, uint64_t ino) const {
    auto it = by_inode_.find({dev, ino});
    return it == by_inode_.end() ? nullptr : &it->second;
  }

 private:
  // One name cryo made, to be taken away again: `name` in `dir`.
  struct Made {
    UniqueFd dir;
    std::string name;
    bool is_dir = false;
    bool link = false;  // made at dump: kept should the restore fail
  };
  // Unlinks what cryo made (`links`: the links made at dump, else the rest).
  void Remove(bool links);
  Result<std::string> CreateGhost(const ImageSet& s, uint32_t ghost_id, const std::string& orig, pid_t pid,
                                  const mnt::TreeRoot& root);
  // The directory a new ghost goes into: `path`'s under `root`, or the
  // nearest one above that exists (directories made for a ghost directory
  // noted).
  Result<std::pair<UniqueFd, std::string>> DirFor(const mnt::TreeRoot& root, const std::string& path,
                                                  bool make_parents);

  std::map<std::pair<uint32_t, uint64_t>, std::string> by_inode_;  // ghosts by their inode (inotify watches)
  std::map<uint32_t, std::string> paths_;  // file id -> path to open
  std::vector<Made> made_;                 // in the order made
  mnt::TreeRoot root_;  // the tree's root (links)
  bool restored_ = false;
};

}  // namespace cryo
