// Shared memory of the dump, recreated by cryo with its contents and
// opened by the tasks through /proc/<cryo>/fd/N: memfd inodes (name, size,
// owner; seals go on once the tasks have mapped and opened them), and the
// objects behind MAP_SHARED|MAP_ANONYMOUS mappings (made by an anonymous
// shared mmap of cryo's own, so they are "/dev/zero (deleted)" again).
#pragma once

#include <cstdint>
#include <map>
#include <set>
#include <string>

#include "engine/base/result.h"
#include "engine/base/unique_fd.h"
#include "engine/restore/image_set.h"

namespace cryo {

class Memfds {
 public:
  Result<> Create(const ImageSet& s);
  // /proc/<cryo>/fd/N of memfd inode `inode_id`, for a task to open.
  Result<std::string> PathOf(uint32_t inode_id) const;
  // cryo's fd of the memfd_create() file itself, -1 if none. Unlike a
  // reopening of it through /proc, it does not count as a writer of the
  // inode: a task that holds it writable can still execveat() it.
  int FdOf(uint32_t inode_id) const;
  // FdOf for the first file opened O_RDWR of the inode (an fd's; as CRIU
  // does, the one a program may execveat()), -1 for the others.
  int TakeForWriter(uint32_t inode_id);
  // The same for the object behind anonymous shared mappings `shmid`.
  Result<std::string> AnonPathOf(uint64_t shmid) const;
  // Seals go on last, once the tasks have mapped and opened the memfds.
  Result<> Seal(const ImageSet& s);

 private:
  static Result<UniqueFd> AnonObject(uint64_t size, uint32_t huge);
  static Result<> Fill(const ImageSet& s, int fd, uint64_t shmid, uint64_t size, bool hugetlb = false);
  template <typename Put>
  static Result<> FillWith(const ImageSet& s, uint64_t shmid, uint64_t size, Put&& put);

  std::map<uint32_t, UniqueFd> fds_;
  std::map<uint64_t, UniqueFd> anon_;
  std::set<uint32_t> writer_taken_;
};

}  // namespace cryo
