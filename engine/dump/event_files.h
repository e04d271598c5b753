// Files of the anonymous-inode kinds whose whole state /proc/PID/fdinfo
// shows: eventfd, signalfd, timerfd, epoll, pidfd. Each parser takes the
// fdinfo text and gives the files.img entry.
#pragma once

#include <cstdint>
#include <string_view>
#include <vector>

#include "engine/base/result.h"
#include "engine/image/proto/files.pb.h"

namespace cryo {

// "key:\tvalue" of an fdinfo text: the value, or "" when the key is absent.
std::string_view FdInfoValue(std::string_view text, std::string_view key);

Result<img::file_entry> EventfdEntry(uint32_t id, uint32_t flags, std::string_view fdinfo);
Result<img::file_entry> SignalfdEntry(uint32_t id, uint32_t flags, std::string_view fdinfo);
Result<img::file_entry> TimerfdEntry(uint32_t id, uint32_t flags, std::string_view fdinfo);
Result<img::file_entry> EpollEntry(uint32_t id, uint32_t flags, std::string_view fdinfo);
Result<img::file_entry> PidfdEntry(uint32_t id, uint32_t flags, uint64_t ino, std::string_view fdinfo);
// Watches with their handles; paths are filled in by ResolveWatches.
Result<img::file_entry> InotifyEntry(uint32_t id, uint32_t flags, std::string_view fdinfo);
// The path of each watched inode, found from its handle on the mount of
// its filesystem (`mountinfo`: the text of the task's mountinfo; `view`:
// where cryo reaches the task's paths, "" when it shares cryo's mounts).
// Gives the watches of inodes that have no link left: they get no path,
// and are placed on the ghost of an fd of the tree on the same inode.
Result<std::vector<uint32_t>> ResolveWatches(img::file_entry& fe, std::string_view mountinfo,
                                             const std::string& view);

}  // namespace cryo
