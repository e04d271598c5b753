// The images of one single-process dump, read and checked before anything
// is created.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "engine/base/result.h"
#include "engine/base/unique_fd.h"
#include "engine/image/proto/core.pb.h"
#include "engine/image/proto/files.pb.h"
#include "engine/image/proto/mm.pb.h"
#include "engine/image/proto/pstree.pb.h"
#include "engine/image/proto/security.pb.h"
#include "engine/image/proto/event.pb.h"

namespace cryo {

struct ImageSet {
  std::string dir_path;  // absolute
  UniqueFd dir;
  img::inventory_entry inventory;
  img::pstree_entry task;
  std::vector<img::core_entry> cores;  // one per thread, leader first
  img::task_kobj_ids_entry ids;
  img::mm_entry mm;
  uint32_t pages_id = 0;
  std::vector<img::pagemap_entry> pagemap;
  std::map<uint32_t, img::reg_file_entry> files;  // by id
  std::vector<img::fdinfo_entry> fds;
  img::fs_entry fs;
  img::seccomp_entry seccomp;  // empty when no thread had filters
  std::map<uint32_t, uint32_t> ghosts;  // file id -> ghost-file id (unlinked files)
  std::map<uint32_t, img::memfd_file_entry> memfd_files;   // by file id
  std::map<uint32_t, img::memfd_inode_entry> memfd_inodes;  // by inode id

  Result<const img::reg_file_entry*> File(uint32_t id) const;
};

Result<ImageSet> ReadImageSet(const std::string& dir);

}  // namespace cryo
