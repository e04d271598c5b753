#include "engine/dump/unix_diag.h"

#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <linux/sock_diag.h>
#include <linux/unix_diag.h>
#include <fcntl.h>
#include <sched.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstring>

#include "engine/base/unique_fd.h"
#include "engine/dump/sock_diag.h"

namespace cryo {

Result<UnixDiag> ParseUnixDiag(const void* data, size_t len) {
  if (len < sizeof(unix_diag_msg)) return MakeError(EBADMSG, "unix diag reply of {} bytes", len);
  const auto* m = static_cast<const unix_diag_msg*>(data);
  UnixDiag d;
  d.ino = m->udiag_ino;
  d.type = m->udiag_type;
  d.state = m->udiag_state;
  size_t off = NLMSG_ALIGN(sizeof(unix_diag_msg));
  const auto* base = static_cast<const unsigned char*>(data);
  while (off + sizeof(rtattr) <= len) {
    rtattr a;
    std::memcpy(&a, base + off, sizeof a);
    if (a.rta_len < sizeof(rtattr) || off + a.rta_len > len) return MakeError(EBADMSG, "unix diag: bad attribute");
    const unsigned char* p = base + off + RTA_LENGTH(0);
    size_t n = a.rta_len - RTA_LENGTH(0);
    auto u32 = [&](size_t at) {
      uint32_t v = 0;
      if (at + 4 <= n) std::memcpy(&v, p + at, 4);
      return v;
    };
    switch (a.rta_type) {
      case UNIX_DIAG_NAME: d.name.assign(reinterpret_cast<const char*>(p), n); break;
      case UNIX_DIAG_PEER: d.peer = u32(0); break;
      case UNIX_DIAG_ICONS:
        for (size_t i = 0; i + 4 <= n; i += 4) d.icons.push_back(u32(i));
        break;
      case UNIX_DIAG_RQLEN:
        d.rqueue = u32(0);
        d.wqueue = u32(4);
        break;
      case UNIX_DIAG_SHUTDOWN:
        if (n >= 1) d.shutdown = p[0];
        break;
      case UNIX_DIAG_VFS:
        d.vfs_ino = u32(0);
        d.vfs_dev = u32(4);
        break;
      default: break;
    }
    off += RTA_ALIGN(a.rta_len);
  }
  return d;
}

Result<std::map<uint32_t, UnixDiag>> ListUnixSockets(pid_t netns_of) {
  UniqueFd nl = CRYO_TRY(SockDiagSocket(netns_of));
  struct {
    nlmsghdr h;
    unix_diag_req r;
  } req{};
  req.h.nlmsg_len = sizeof req;
  req.h.nlmsg_type = SOCK_DIAG_BY_FAMILY;
  req.h.nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
  req.h.nlmsg_seq = 1;
  req.r.sdiag_family = AF_UNIX;
  req.r.udiag_states = ~0U;
  req.r.udiag_show = UDIAG_SHOW_NAME | UDIAG_SHOW_VFS | UDIAG_SHOW_PEER | UDIAG_SHOW_ICONS | UDIAG_SHOW_RQLEN;
  // UNIX_DIAG_SHUTDOWN comes with every reply.
  std::map<uint32_t, UnixDiag> out;
  CRYO_TRY(SockDiagDump(nl.get(), std::string_view(reinterpret_cast<const char*>(&req), sizeof req), "unix sockets",
                        [&](const void* data, size_t len) -> Result<> {
                          UnixDiag d = CRYO_TRY(ParseUnixDiag(data, len));
                          out[d.ino] = std::move(d);
                          return {};
                        }));
  return out;
}

}  // namespace cryo
