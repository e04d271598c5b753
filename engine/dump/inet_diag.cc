#include "engine/dump/inet_diag.h"

#include <linux/inet_diag.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <linux/sock_diag.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <cstring>

#include "engine/base/unique_fd.h"
#include "engine/dump/sock_diag.h"

namespace cryo {

Result<InetDiag> ParseInetDiag(const void* data, size_t len) {
  if (len < sizeof(inet_diag_msg)) return MakeError(EBADMSG, "inet diag reply of {} bytes", len);
  inet_diag_msg m;
  std::memcpy(&m, data, sizeof m);
  InetDiag d;
  d.ino = m.idiag_inode;
  d.state = m.idiag_state;
  d.dst_port = ntohs(m.id.idiag_dport);
  d.dst.assign(reinterpret_cast<const char*>(m.id.idiag_dst), m.idiag_family == AF_INET6 ? 16 : 4);
  d.rqueue = m.idiag_rqueue;
  d.wqueue = m.idiag_wqueue;
  size_t off = NLMSG_ALIGN(sizeof(inet_diag_msg));
  const auto* base = static_cast<const unsigned char*>(data);
  while (off + sizeof(rtattr) <= len) {
    rtattr a;
    std::memcpy(&a, base + off, sizeof a);
    if (a.rta_len < sizeof(rtattr) || off + a.rta_len > len) return MakeError(EBADMSG, "inet diag: bad attribute");
    if (a.rta_type == INET_DIAG_SHUTDOWN && a.rta_len > RTA_LENGTH(0)) d.shutdown = base[off + RTA_LENGTH(0)];
    off += RTA_ALIGN(a.rta_len);
  }
  return d;
}

Result<std::map<uint32_t, InetDiag>> ListInetSockets(pid_t netns_of, int family, int proto) {
  UniqueFd nl = CRYO_TRY(SockDiagSocket(netns_of));
  struct {
    nlmsghdr h;
    inet_diag_req_v2 r;
  } req{};
  req.h.nlmsg_len = sizeof req;
  req.h.nlmsg_type = SOCK_DIAG_BY_FAMILY;
  req.h.nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
  req.h.nlmsg_seq = 1;
  req.r.sdiag_family = static_cast<uint8_t>(family);
  req.r.sdiag_protocol = static_cast<uint8_t>(proto);
  req.r.idiag_states = ~0U;
  // INET_DIAG_SHUTDOWN comes with every reply.
  std::map<uint32_t, InetDiag> out;
  CRYO_TRY(SockDiagDump(nl.get(), std::string_view(reinterpret_cast<const char*>(&req), sizeof req), "inet sockets",
                        [&](const void* data, size_t len) -> Result<> {
                          InetDiag d = CRYO_TRY(ParseInetDiag(data, len));
                          out[d.ino] = std::move(d);
                          return {};
                        }));
  return out;
}

}  // namespace cryo
