#include "engine/dump/netlink_socket.h"

#include <linux/netlink.h>
#include <linux/netlink_diag.h>
#include <linux/rtnetlink.h>
#include <linux/sock_diag.h>
#include <linux/sockios.h>
#include <poll.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/socket.h>

#include <cstring>
#include <utility>

#include "engine/base/unique_fd.h"
#include "engine/dump/file_table.h"
#include "engine/dump/sock_diag.h"
#include "engine/dump/socket_opts.h"

namespace cryo {
namespace {

constexpr int kNetlinkExtAck = 11, kNetlinkStrictChk = 12;  // linux/netlink.h

Result<std::map<uint32_t, NetlinkDiag>> ListNetlinkSockets(pid_t netns_of) {
  UniqueFd nl = CRYO_TRY(SockDiagSocket(netns_of));
  struct {
    nlmsghdr h;
    netlink_diag_req r;
  } req{};
  req.h.nlmsg_len = sizeof req;
  req.h.nlmsg_type = SOCK_DIAG_BY_FAMILY;
  req.h.nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
  req.h.nlmsg_seq = 1;
  req.r.sdiag_family = AF_NETLINK;
  req.r.sdiag_protocol = NDIAG_PROTO_ALL;
  req.r.ndiag_show = NDIAG_SHOW_GROUPS | NDIAG_SHOW_FLAGS;
  std::map<uint32_t, NetlinkDiag> out;
  CRYO_TRY(SockDiagDump(nl.get(), std::string_view(reinterpret_cast<const char*>(&req), sizeof req),
                        "netlink sockets", [&](const void* data, size_t len) -> Result<> {
                          NetlinkDiag d = CRYO_TRY(ParseNetlinkDiag(data, len));
                          out[d.ino] = std::move(d);
                          return {};
                        }));
  return out;
}

}  // namespace

Result<NetlinkDiag> ParseNetlinkDiag(const void* data, size_t len) {
  if (len < sizeof(netlink_diag_msg)) return MakeError(EBADMSG, "netlink diag reply of {} bytes", len);
  netlink_diag_msg m;
  std::memcpy(&m, data, sizeof m);
  NetlinkDiag d;
  d.ino = m.ndiag_ino;
  d.protocol = m.ndiag_protocol;
  d.state = m.ndiag_state;
  d.portid = m.ndiag_portid;
  d.dst_portid = m.ndiag_dst_portid;
  d.dst_group = m.ndiag_dst_group;
  size_t off = NLMSG_ALIGN(sizeof(netlink_diag_msg));
  const auto* base = static_cast<const unsigned char*>(data);
  while (off + sizeof(rtattr) <= len) {
    rtattr a;
    std::memcpy(&a, base + off, sizeof a);
    if (a.rta_len < sizeof(rtattr) || off + a.rta_len > len) return MakeError(EBADMSG, "netlink diag: bad attribute");
    const unsigned char* p = base + off + RTA_LENGTH(0);
    size_t n = a.rta_len - RTA_LENGTH(0);
    if (a.rta_type == NETLINK_DIAG_GROUPS) {
      d.groups.resize(n / 4);
      std::memcpy(d.groups.data(), p, d.groups.size() * 4);
    } else if (a.rta_type == NETLINK_DIAG_FLAGS && n >= 4) {
      std::memcpy(&d.flags, p, 4);
    }
    off += RTA_ALIGN(a.rta_len);
  }
  // Words of no group at the end say nothing.
  while (!d.groups.empty() && d.groups.back() == 0) d.groups.pop_back();
  return d;
}

Result<img::file_entry> NetlinkSockets::Dump(pid_t pid, int fd, int sk, uint32_t id, uint32_t ino, uint32_t flags) {
  if (!listed_) listed_ = CRYO_TRY_CTX(ListNetlinkSockets(netns_of_), "pid {}: netlink sockets", pid);
  auto it = listed_->find(ino);
  NetlinkDiag unbound;
  if (it == listed_->end()) {
    // sock_diag lists bound sockets only: an unbound one of the tree's
    // namespace has just its protocol to keep.
    UniqueFd ns(::ioctl(sk, SIOCGSKNS));
    struct stat mine, tree;
    if (!ns || ::fstat(ns.get(), &mine) != 0) return ErrnoError("pid {} fd {}: netlink socket's namespace", pid, fd);
    if (::stat(fmt::format("/proc/{}/ns/net", netns_of_).c_str(), &tree) != 0 || mine.st_ino != tree.st_ino)
      return MakeError(ENOTSUP, "pid {} fd {}: a netlink socket of another network namespace: not supported", pid,
                       fd);
    int proto = 0;
    socklen_t l = sizeof proto;
    if (::getsockopt(sk, SOL_SOCKET, SO_PROTOCOL, &proto, &l) != 0)
      return ErrnoError("pid {} fd {}: netlink socket's protocol", pid, fd);
    unbound.ino = ino;
    unbound.protocol = static_cast<uint8_t>(proto);
  }
  const NetlinkDiag& d = it == listed_->end() ? unbound : it->second;
  if (d.flags & NDIAG_FLAG_CB_RUNNING)
    return MakeError(ENOTSUP, "pid {} fd {}: netlink socket (protocol {}) is in the middle of a dump: not supported",
                     pid, fd, d.protocol);
  constexpr uint32_t kKept = 0;  // the image has no place for any flag
  if (d.flags & ~(kKept | NDIAG_FLAG_CB_RUNNING))
    return MakeError(ENOTSUP,
                     "pid {} fd {}: netlink socket (protocol {}) has netlink options set (NDIAG_FLAG {:#x}): not "
                     "supported",
                     pid, fd, d.protocol, d.flags);
  // Two more the diag flags do not show.
  for (auto [name, what] : {std::pair{kNetlinkExtAck, "NETLINK_EXT_ACK"}, std::pair{kNetlinkStrictChk, "NETLINK_GET_STRICT_CHK"}}) {
    int v = 0;
    socklen_t l = sizeof v;
    if (::getsockopt(sk, SOL_NETLINK, name, &v, &l) == 0 && v)
      return MakeError(ENOTSUP, "pid {} fd {}: netlink socket (protocol {}) has {} set: not supported", pid, fd,
                       d.protocol, what);
  }
  pollfd p{sk, POLLIN, 0};
  if (::poll(&p, 1, 0) > 0 && (p.revents & POLLIN))
    return MakeError(ENOTSUP, "pid {} fd {}: netlink socket (protocol {}) has messages not read yet: not supported", pid,
                     fd, d.protocol);
  img::file_entry fe;
  fe.set_type(img::NETLINKSK);
  fe.set_id(id);
  auto* e = fe.mutable_nlsk();
  e->set_id(id);
  e->set_ino(ino);
  e->set_protocol(d.protocol);
  e->set_state(d.state);
  e->set_flags(flags);
  e->set_portid(d.portid);
  for (uint32_t g : d.groups) e->add_groups(g);
  e->set_dst_portid(d.dst_portid);
  e->set_dst_group(d.dst_group);
  NoOwner(e->mutable_fown());
  CRYO_TRY_CTX(ReadSocketOpts(sk, e->mutable_opts(), false), "pid {} fd {}", pid, fd);
  return fe;
}

}  // namespace cryo
