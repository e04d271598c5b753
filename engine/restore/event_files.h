// eventfd, signalfd, timerfd and epoll files recreated by cryo with their
// state (an epoll's registrations are made by the task that holds it, with
// its own fd numbers: see EpollTargets); pidfds once the tree exists.
#pragma once

#include <functional>
#include <map>
#include <string>
#include <vector>

#include "engine/base/result.h"
#include "engine/base/unique_fd.h"
#include "engine/mnt/tree_root.h"
#include "engine/restore/image_set.h"

namespace cryo {

// `ghost_of(dev, ino)`: where an unlinked inode an inotify watch is on was
// made again (a path of the tree's), or null.
using GhostOfInode = std::function<const std::string*(uint32_t dev, uint64_t ino)>;
Result<> CreateEventFiles(const ImageSet& s, std::map<uint32_t, UniqueFd>& out, const mnt::TreeRoot& root,
                          const GhostOfInode& ghost_of = {});
// `host_of` turns a pid of the dump (the tree's pid namespace) into cryo's.
Result<> CreatePidfds(const ImageSet& s, std::map<uint32_t, UniqueFd>& out,
                      const std::function<pid_t(pid_t)>& host_of);

}  // namespace cryo
