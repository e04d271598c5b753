// TCP and UDP sockets as the kernel lists them (NETLINK_SOCK_DIAG,
// inet_diag): what getsockopt cannot say of them: a closed connection's
// peer, and the shutdown state of a socket with no peer to show it.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <map>
#include <string>

#include "engine/base/result.h"

namespace cryo {

struct InetDiag {
  uint32_t ino = 0;
  uint8_t state = 0;
  uint8_t shutdown = 0;  // RCV_SHUTDOWN 1 | SEND_SHUTDOWN 2
  uint16_t dst_port = 0;   // host order
  std::string dst;         // 4 or 16 bytes, network order
  uint32_t rqueue = 0, wqueue = 0;
};

// The sockets of `family` and `proto` (IPPROTO_TCP, _UDP, _UDPLITE) in the
// network namespace of `netns_of`, by inode.
Result<std::map<uint32_t, InetDiag>> ListInetSockets(pid_t netns_of, int family, int proto);

// One reply message's payload (inet_diag_msg + attributes): split out for tests.
Result<InetDiag> ParseInetDiag(const void* data, size_t len);

}  // namespace cryo
