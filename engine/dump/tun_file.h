// /dev/net/tun files of the tree (files.img: a reg_file_entry for the
// path and flags, then a tunfile_entry with the same id naming the device
// it is attached to, as CRIU writes them). The device itself is dumped
// with the tree's network namespace (netns/tun.h).
#pragma once

#include <sys/stat.h>
#include <sys/types.h>

#include <cstdint>

#include "engine/base/result.h"
#include "engine/image/proto/files.pb.h"

namespace cryo {

// /dev/net/tun (10:200).
bool IsTunFile(const struct stat& st);

struct TunFileWhere {
  uint64_t tree_netns = 0;  // inode of the tree's network namespace
  bool own_netns = false;   // the tree has a namespace of its own (dumped with it)
  uint32_t ns_id = 0;       // that namespace's id in the images
};

// The TUNF entry of fd `fd` of `pid`, `ours` being cryo's copy of it. A
// file attached to a device cryo cannot bring back with it (in another
// namespace, in cryo's, or with a filter) is an error naming pid and fd.
Result<img::file_entry> TunFileEntry(pid_t pid, int fd, int ours, uint32_t id, const TunFileWhere& where);

}  // namespace cryo
