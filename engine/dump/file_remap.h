// Files of the tree that no path leads to any more (CRIU's remaps): an
// unlinked file, directory or device node becomes a ghost (ghost-file-ID.img:
// its inode's mode, owner, times, device number and data, holes left out);
// a file whose name is gone while other links to it remain gets a new link
// beside where it was (--link-remap), which the restore opens and removes.
// Each inode is dumped once, whatever fds, mappings and cwds hold it:
// remap-fpath.img sends every file entry of it to the same ghost.
#pragma once

#include <sys/stat.h>
#include <sys/types.h>

#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "engine/base/result.h"
#include "engine/image/proto/files.pb.h"
#include "engine/options/options.h"

namespace cryo {

class FileTable;

// " (deleted)" cut off the end of a link /proc shows, if it is there.
bool StripDeleted(std::string& link);

// A range of a file that holds data.
struct DataRange {
  uint64_t off = 0, len = 0;
};

// Where file `fd` (of `size` bytes) holds data, by FIEMAP when `fiemap`
// (and the filesystem has it), else by SEEK_DATA/SEEK_HOLE; a filesystem
// with neither gives one range over the whole file.
Result<std::vector<DataRange>> DataRanges(int fd, uint64_t size, bool fiemap);

class FileRemaps {
 public:
  FileRemaps(const Options& opts, int dir) : opts_(opts), dir_(dir) {}
  FileRemaps(const FileRemaps&) = delete;
  FileRemaps& operator=(const FileRemaps&) = delete;
  // Links made for a dump that failed are taken away again.
  ~FileRemaps();

  // File entry `id` is `path` (as the tree names it, " (deleted)" cut
  // off), which is gone; cryo reaches it as `proc` (/proc/PID/fd/N, cwd,
  // map_files/...). `view` is where cryo finds the tree's paths. `what`
  // names the holder in errors ("pid 5 fd 3").
  Result<> Remap(uint32_t id, const std::string& path, const std::string& proc, const struct stat& st,
                 const std::string& view, const std::string& what, FileTable& files);
  // Another entry of remap-fpath.img (a PROCFS one, say).
  void Add(const img::remap_file_path_entry& e) { entries_.push_back(e); }
  // Whether an fd of the tree made a ghost of this inode.
  bool HasGhost(dev_t dev, ino_t ino) const { return ghosts_.count({dev, ino}) > 0; }
  // remap-fpath.img.
  Result<> Write();
  // The dump is complete: the links made stay for the restore.
  void Keep() { kept_ = true; }

 private:
  Result<uint32_t> Ghost(const std::string& proc, const struct stat& st, const std::string& what);
  Result<uint32_t> Link(const std::string& path, const std::string& proc, const struct stat& st,
                        const std::string& view, const std::string& what, FileTable& files);

  const Options& opts_;
  int dir_;
  uint32_t next_ghost_ = 1;
  std::map<std::pair<dev_t, ino_t>, uint32_t> ghosts_;  // inode -> ghost id
  std::map<std::pair<dev_t, ino_t>, uint32_t> links_;   // inode -> file id of its new link
  std::vector<std::string> made_;                       // links made, as cryo reaches them
  std::vector<img::remap_file_path_entry> entries_;
  bool kept_ = false;
};

}  // namespace cryo
