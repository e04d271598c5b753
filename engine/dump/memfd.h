// memfd files: their inodes (memfd.img: name, size, seals) and contents
// (pagemap-shmem-ID.img + pages-N.img, by file offset), shared by every fd
// and mapping that refers to them.
#pragma once

#include <sys/stat.h>

#include <map>
#include <string>

#include "engine/base/result.h"
#include "engine/mem/page_sink.h"
#include "engine/image/proto/event.pb.h"

namespace cryo {

class MemfdTable {
 public:
  // The inode id for the memfd reachable at `open_path` (/proc/PID/fd/N or
  // /proc/PID/map_files/A-B); `link` is its /proc link text, for the name.
  Result<uint32_t> Inode(const std::string& open_path, const std::string& link);
  // The shmem object behind a MAP_SHARED|MAP_ANONYMOUS mapping (its inode
  // is the vma's shmid): contents only, no memfd.img entry.
  Result<> AnonShared(const std::string& open_path, uint64_t shmid);
  // Pages of shared memory looked at and written, for stats-dump's shpages_*.
  struct Counts {
    uint64_t scanned = 0;
    uint64_t written = 0;
  };
  // Writes memfd.img, and each inode's contents to `sink`.
  Result<Counts> Write(int dir, PageSink& sink);

 private:
  struct Inode_ {
    img::memfd_inode_entry entry;
    std::string open_path;
    bool anon = false;  // anonymous shared memory, not a memfd
  };
  std::map<uint64_t, Inode_> by_ino_;
};

// "memfd:NAME (deleted)" or "/memfd:NAME (deleted)" -> NAME.
std::string MemfdName(const std::string& link);

}  // namespace cryo
