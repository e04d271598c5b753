// files.img under construction for a whole tree: one entry per open file
// description, whichever processes and fds share it (kcmp tells).
#pragma once

#include <sys/stat.h>
#include <sys/types.h>

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "engine/base/result.h"
#include "engine/image/proto/files.pb.h"

namespace cryo {

// No F_SETOWN owner: every fown field is required on the wire, all zero.
void NoOwner(img::fown_entry* f);

class FileTable {
 public:
  uint32_t NextId() { return next_id_++; }
  void Add(img::file_entry e) { entries_.push_back(std::move(e)); }

  // `mnt_id`: the mount it is on, when that is one of the tree's (-1: none).
  uint32_t AddReg(const std::string& path, uint32_t flags, uint64_t pos, const struct stat& st, int mnt_id = -1);
  // The same, under an id taken from NextId() before.
  void AddRegWithId(uint32_t id, const std::string& path, uint32_t flags, uint64_t pos, const struct stat& st,
                    int mnt_id = -1);
  uint32_t AddMemfd(uint32_t inode_id, uint32_t flags, uint64_t pos);
  // Files reached by path only (cwd, root, exe, mappings): shared by name.
  Result<uint32_t> ByPath(const std::string& path, uint32_t flags);
  // Where cryo finds the paths the tree names (ns::NamespaceDumper::View).
  void SetView(std::string view) { view_ = std::move(view); }

  // The id given earlier to the open file description behind (pid, fd), if
  // some fd of the dump already refers to it.
  std::optional<uint32_t> Known(pid_t pid, int fd, const struct stat& st) const;
  void Remember(pid_t pid, int fd, const struct stat& st, uint32_t id, img::fd_types type);
  img::fd_types TypeOf(uint32_t id) const { return types_.at(id); }
  // The file's owner for SIGIO (file_owner.h), put in its entry when the
  // table is written (a FIFO's goes to its path's entry, as CRIU has it).
  void SetOwner(uint32_t id, img::fown_entry f) { owners_[id] = std::move(f); }

  Result<> Write(int dir) const;

 private:
  struct Holder {
    pid_t pid;
    int fd;
    uint32_t id;
  };
  uint32_t next_id_ = 1;
  std::vector<img::file_entry> entries_;
  std::map<std::pair<std::string, uint32_t>, uint32_t> by_path_;
  std::string view_;
  std::map<std::pair<dev_t, ino_t>, std::vector<Holder>> by_inode_;
  std::map<uint32_t, img::fd_types> types_;
  std::map<uint32_t, img::fown_entry> owners_;
};

}  // namespace cryo
