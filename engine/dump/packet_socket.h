// Packet sockets of a tree (packet_sock_entry in files.img), SOCK_RAW,
// SOCK_DGRAM and the old SOCK_PACKET, as NETLINK_SOCK_DIAG lists them:
// protocol, the interface bound to, PACKET_* options, memberships, the
// fanout group, and the RX/TX rings' geometry. Packets waiting in the
// queue are not kept (as CRIU: they are datagrams a raw socket may lose).
#pragma once

#include <linux/packet_diag.h>
#include <sys/types.h>

#include <map>
#include <optional>
#include <vector>

#include "engine/base/result.h"
#include "engine/image/proto/files.pb.h"

namespace cryo {

struct PacketDiag {
  uint32_t ino = 0;
  uint8_t type = 0;
  uint16_t protocol = 0;  // network order, as socket() takes it
  packet_diag_info info{};
  std::vector<packet_diag_mclist> mclist;
  std::optional<packet_diag_ring> rx, tx;
  std::optional<uint32_t> fanout;
};

// One reply message's payload (packet_diag_msg + attributes): split out for tests.
Result<PacketDiag> ParsePacketDiag(const void* data, size_t len);

class PacketSockets {
 public:
  // The sockets are listed in the network namespace of `pid`.
  void SetNetnsOf(pid_t pid) { netns_of_ = pid; }
  // The entry of socket `sk` (cryo's copy of fd `fd` of `pid`).
  Result<img::file_entry> Dump(pid_t pid, int fd, int sk, uint32_t id, uint32_t ino, uint32_t flags);

 private:
  pid_t netns_of_ = 0;
  std::optional<std::map<uint32_t, PacketDiag>> listed_;
};

}  // namespace cryo
