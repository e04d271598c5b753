#include "engine/restore/netlink_socket.h"

#include <fcntl.h>
#include <linux/netlink.h>
#include <sys/socket.h>

#include "engine/restore/socket_opts.h"

namespace cryo {
namespace {

Result<UniqueFd> Create(uint32_t id, const img::netlink_sk_entry& e) {
  UniqueFd sk(::socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, static_cast<int>(e.protocol())));
  if (!sk) return ErrnoError("netlink socket {}: socket(protocol {})", id, e.protocol());
  CRYO_TRY(ApplySocketOpts(sk.get(), e.opts(), id, false));
  if (e.portid() != 0) {
    // The same port id, not another: peers address it by that number.
    sockaddr_nl a{};
    a.nl_family = AF_NETLINK;
    a.nl_pid = e.portid();
    if (e.groups_size() > 0) a.nl_groups = e.groups(0);
    if (::bind(sk.get(), reinterpret_cast<sockaddr*>(&a), sizeof a) != 0)
      return ErrnoError("netlink socket {}: bind to port {}", id, e.portid());
    for (int w = 1; w < e.groups_size(); w++)
      for (int bit = 0; bit < 32; bit++) {
        if (!(e.groups(w) & (1u << bit))) continue;
        int group = w * 32 + bit + 1;
        if (::setsockopt(sk.get(), SOL_NETLINK, NETLINK_ADD_MEMBERSHIP, &group, sizeof group) != 0)
          return ErrnoError("netlink socket {}: join group {}", id, group);
      }
  } else if (e.groups_size() > 0) {
    return MakeError(EINVAL, "netlink socket {}: groups but no port id", id);
  }
  // NETLINK_CONNECTED
  if (e.state() == 1) {
    if (e.dst_group() > 32) return MakeError(EINVAL, "netlink socket {}: peer group {}", id, e.dst_group());
    sockaddr_nl a{};
    a.nl_family = AF_NETLINK;
    a.nl_pid = e.dst_portid();
    if (e.dst_group() != 0) a.nl_groups = 1u << (e.dst_group() - 1);
    if (::connect(sk.get(), reinterpret_cast<sockaddr*>(&a), sizeof a) != 0)
      return ErrnoError("netlink socket {}: connect to port {} group {}", id, e.dst_portid(), e.dst_group());
  }
  constexpr uint32_t kStatus = O_NONBLOCK | O_ASYNC;
  if (::fcntl(sk.get(), F_SETFL, e.flags() & kStatus) != 0) return ErrnoError("netlink socket {}: flags", id);
  return sk;
}

}  // namespace

Result<> CreateNetlinkSockets(const ImageSet& s, std::map<uint32_t, UniqueFd>& out) {
  for (const auto& [id, e] : s.netlink_sks) out[id] = CRYO_TRY(Create(id, e));
  return {};
}

}  // namespace cryo
