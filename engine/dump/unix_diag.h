// Unix sockets as the kernel lists them (NETLINK_SOCK_DIAG): type, state,
// name, peer, queued connections and queue lengths, by inode.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "engine/base/result.h"

namespace cryo {

struct UnixDiag {
  uint32_t ino = 0;
  uint8_t type = 0, state = 0;
  std::string name;  // "" unbound; abstract names start with '\0'
  uint32_t peer = 0;
  std::vector<uint32_t> icons;  // inodes of connections waiting for accept
  uint32_t rqueue = 0, wqueue = 0;
  uint8_t shutdown = 0;
  uint32_t vfs_ino = 0, vfs_dev = 0;  // the bound path's inode
};

// Every unix socket of the caller's network namespace.
// `netns_of` > 0: the sockets of that task's network namespace.
Result<std::map<uint32_t, UnixDiag>> ListUnixSockets(pid_t netns_of = 0);

// One reply message's payload (unix_diag_msg + attributes): split out for tests.
Result<UnixDiag> ParseUnixDiag(const void* data, size_t len);

}  // namespace cryo
