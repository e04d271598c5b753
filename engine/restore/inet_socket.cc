#include "engine/restore/inet_socket.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <linux/icmp.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include <cstring>

#include "engine/restore/socket_opts.h"

namespace cryo {
namespace {

Result<sockaddr_storage> Address(uint32_t family, const google::protobuf::RepeatedField<uint32_t>& words,
                                 uint32_t port, uint32_t id) {
  sockaddr_storage a{};
  if (port > 65535) return MakeError(EINVAL, "socket {}: port {}", id, port);
  if (family == AF_INET) {
    auto& v4 = reinterpret_cast<sockaddr_in&>(a);
    v4.sin_family = AF_INET;
    v4.sin_port = htons(static_cast<uint16_t>(port));
    if (words.size() > 0) v4.sin_addr.s_addr = words[0];
  } else {
    auto& v6 = reinterpret_cast<sockaddr_in6&>(a);
    v6.sin6_family = AF_INET6;
    v6.sin6_port = htons(static_cast<uint16_t>(port));
    if (words.size() >= 4)
      for (int i = 0; i < 4; i++) std::memcpy(v6.sin6_addr.s6_addr + 4 * i, &words[i], 4);
  }
  return a;
}

socklen_t LengthOf(const sockaddr_storage& a) {
  return a.ss_family == AF_INET ? sizeof(sockaddr_in) : sizeof(sockaddr_in6);
}

bool AnyAddress(const img::inet_sk_entry& e) {
  for (uint32_t w : e.src_addr())
    if (w != 0) return false;
  return true;
}

Result<> SetInt(int sk, int level, int name, int v, const char* what, uint32_t id) {
  if (::setsockopt(sk, level, name, &v, sizeof v) != 0) return ErrnoError("socket {}: {}", id, what);
  return {};
}

Result<> ApplyIpOpts(int sk, const img::inet_sk_entry& e, uint32_t id) {
  const auto& ip = e.ip_opts();
  bool v4 = e.family() == AF_INET;
  if (ip.freebind())
    CRYO_TRY(v4 ? SetInt(sk, SOL_IP, IP_FREEBIND, 1, "IP_FREEBIND", id)
                : SetInt(sk, SOL_IPV6, IPV6_FREEBIND, 1, "IPV6_FREEBIND", id));
  if (ip.pktinfo())
    CRYO_TRY(v4 ? SetInt(sk, SOL_IP, IP_PKTINFO, 1, "IP_PKTINFO", id)
                : SetInt(sk, SOL_IPV6, IPV6_RECVPKTINFO, 1, "IPV6_RECVPKTINFO", id));
  if (v4 && ip.has_tos()) CRYO_TRY(SetInt(sk, SOL_IP, IP_TOS, static_cast<int>(ip.tos()), "IP_TOS", id));
  if (ip.has_raw()) {
    if (ip.raw().hdrincl()) CRYO_TRY(SetInt(sk, SOL_IP, IP_HDRINCL, 1, "IP_HDRINCL", id));
    if (ip.raw().icmpv_filter_size() > 0) {
      icmp_filter f{ip.raw().icmpv_filter(0)};
      if (::setsockopt(sk, SOL_RAW, ICMP_FILTER, &f, sizeof f) != 0) return ErrnoError("socket {}: ICMP_FILTER", id);
    }
  }
  return {};
}

Result<> ApplyTcpOpts(int sk, const img::inet_sk_entry& e, uint32_t id) {
  if (!e.has_tcp_opts()) return {};
  const auto& t = e.tcp_opts();
  if (t.nodelay()) CRYO_TRY(SetInt(sk, SOL_TCP, TCP_NODELAY, 1, "TCP_NODELAY", id));
  if (t.cork()) CRYO_TRY(SetInt(sk, SOL_TCP, TCP_CORK, 1, "TCP_CORK", id));
  if (t.keepcnt()) CRYO_TRY(SetInt(sk, SOL_TCP, TCP_KEEPCNT, static_cast<int>(t.keepcnt()), "TCP_KEEPCNT", id));
  if (t.keepidle()) CRYO_TRY(SetInt(sk, SOL_TCP, TCP_KEEPIDLE, static_cast<int>(t.keepidle()), "TCP_KEEPIDLE", id));
  if (t.keepintvl())
    CRYO_TRY(SetInt(sk, SOL_TCP, TCP_KEEPINTVL, static_cast<int>(t.keepintvl()), "TCP_KEEPINTVL", id));
  return {};
}

// Binds where the dump found it; the address is free again, but a
// listener's port may still be held by connections the dumped tree had
// (closed in repair mode, they linger nowhere; others may): SO_REUSEADDR
// while binding, then the tree's own setting.
Result<> Bind(int sk, const sockaddr_storage& self, const img::inet_sk_entry& e, uint32_t id) {
  CRYO_TRY(SetInt(sk, SOL_SOCKET, SO_REUSEADDR, 1, "SO_REUSEADDR", id));
  if (::bind(sk, reinterpret_cast<const sockaddr*>(&self), LengthOf(self)) != 0) {
    char buf[INET6_ADDRSTRLEN] = "?";
    const void* a = self.ss_family == AF_INET ? static_cast<const void*>(&reinterpret_cast<const sockaddr_in&>(self).sin_addr)
                                              : static_cast<const void*>(&reinterpret_cast<const sockaddr_in6&>(self).sin6_addr);
    ::inet_ntop(self.ss_family, a, buf, sizeof buf);
    return ErrnoError("socket {}: bind to {} port {}", id, buf, e.src_port());
  }
  return {};
}

Result<UniqueFd> Create(const ImageSet& s, uint32_t id, const img::inet_sk_entry& e, TcpConnections& conns) {
  if (e.family() != AF_INET && e.family() != AF_INET6)
    return MakeError(EINVAL, "socket {}: family {}", id, e.family());
  UniqueFd sk(::socket(static_cast<int>(e.family()), static_cast<int>(e.type()) | SOCK_CLOEXEC,
                       static_cast<int>(e.proto())));
  if (!sk) return ErrnoError("socket {}: socket({}, {}, {})", id, e.family(), e.type(), e.proto());
  int fd = sk.get();
  // (A raw socket has no say in it.)
  if (e.family() == AF_INET6 && e.type() != SOCK_RAW)
    CRYO_TRY(SetInt(fd, SOL_IPV6, IPV6_V6ONLY, e.v6only() ? 1 : 0, "IPV6_V6ONLY", id));
  // TOS first: it sets the priority too, which the socket options then
  // put back as it was.
  CRYO_TRY(ApplyIpOpts(fd, e, id));
  CRYO_TRY(ApplySocketOpts(fd, e.opts(), id, true));
  CRYO_TRY(ApplyTcpOpts(fd, e, id));
  sockaddr_storage self = CRYO_TRY(Address(e.family(), e.src_addr(), e.src_port(), id));
  bool tcp = e.type() == SOCK_STREAM;
  bool connected = e.dst_addr_size() > 0 && e.state() != TCP_CLOSE && e.state() != TCP_LISTEN;
  if (tcp && connected) {
    sockaddr_storage peer = CRYO_TRY(Address(e.family(), e.dst_addr(), e.dst_port(), id));
    CRYO_TRY_CTX(conns.Restore(fd, s.dir.get(), e.ino(), static_cast<int>(e.state()), self, peer, e.opts().so_sndbuf(),
                               e.opts().so_rcvbuf(), e.opts().reuseaddr(), e.opts().so_buf_lock()),
                 "socket {}: TCP connection", id);
  } else {
    if (e.src_port() != 0 || !AnyAddress(e)) CRYO_TRY(Bind(fd, self, e, id));
    if (tcp && e.state() == TCP_LISTEN && ::listen(fd, static_cast<int>(e.backlog())) != 0)
      return ErrnoError("socket {}: listen", id);
    if (!tcp && connected) {
      sockaddr_storage peer = CRYO_TRY(Address(e.family(), e.dst_addr(), e.dst_port(), id));
      if (::connect(fd, reinterpret_cast<const sockaddr*>(&peer), LengthOf(peer)) != 0)
        return ErrnoError("socket {}: connect", id);
    }
  }
  CRYO_TRY(SetInt(fd, SOL_SOCKET, SO_REUSEADDR, e.opts().reuseaddr() ? 1 : 0, "SO_REUSEADDR", id));
  if (e.has_shutdown() && e.shutdown() != img::NONE) {
    int how = e.shutdown() == img::READ ? SHUT_RD : e.shutdown() == img::WRITE ? SHUT_WR : SHUT_RDWR;
    if (::shutdown(fd, how) != 0) return ErrnoError("socket {}: shutdown", id);
  }
  constexpr uint32_t kStatus = O_NONBLOCK | O_ASYNC;
  if (::fcntl(fd, F_SETFL, e.flags() & kStatus) != 0) return ErrnoError("socket {}: flags", id);
  return sk;
}

}  // namespace

Result<> CreateInetSockets(const ImageSet& s, std::map<uint32_t, UniqueFd>& out, TcpConnections& conns) {
  // Listeners first: connections accepted from them share their port.
  for (int pass = 0; pass < 2; pass++)
    for (const auto& [id, e] : s.inet_sks) {
      bool listener = e.state() == TCP_LISTEN;
      if (listener != (pass == 0)) continue;
      out[id] = CRYO_TRY(Create(s, id, e, conns));
    }
  return {};
}

}  // namespace cryo
