// Netlink sockets of a tree (netlink_sk_entry in files.img): protocol,
// the port id it is bound to, its multicast groups, the peer it is
// connected to, and its socket options, as NETLINK_SOCK_DIAG lists them.
// Messages waiting to be read, a dump in progress and the netlink flags
// (NETLINK_PKTINFO, ..., NETLINK_EXT_ACK, NETLINK_GET_STRICT_CHK) have no
// place in the image: such a socket is refused.
#pragma once

#include <sys/types.h>

#include <map>
#include <optional>
#include <vector>

#include "engine/base/result.h"
#include "engine/image/proto/files.pb.h"

namespace cryo {

struct NetlinkDiag {
  uint32_t ino = 0;
  uint8_t protocol = 0, state = 0;
  uint32_t portid = 0, dst_portid = 0, dst_group = 0;
  std::vector<uint32_t> groups;  // the membership bitmap, 32 groups a word
  uint32_t flags = 0;            // NDIAG_FLAG_*
};

// One reply message's payload (netlink_diag_msg + attributes): split out for tests.
Result<NetlinkDiag> ParseNetlinkDiag(const void* data, size_t len);

class NetlinkSockets {
 public:
  // The sockets are listed in the network namespace of `pid`.
  void SetNetnsOf(pid_t pid) { netns_of_ = pid; }
  // The entry of socket `sk` (cryo's copy of fd `fd` of `pid`).
  Result<img::file_entry> Dump(pid_t pid, int fd, int sk, uint32_t id, uint32_t ino, uint32_t flags);

 private:
  pid_t netns_of_ = 0;
  std::optional<std::map<uint32_t, NetlinkDiag>> listed_;
};

}  // namespace cryo
