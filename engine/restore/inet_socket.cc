#include "engine/restore/inet_socket.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <linux/icmp.h>
#include <netinet/icmp6.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include <cstring>
#include <iterator>

#include "engine/restore/socket_opts.h"

namespace cryo {
namespace {

constexpr int kIpv6Hdrincl = 36;   // IPV6_HDRINCL of linux/in6.h
constexpr int kIpv6Freebind = 78;  // IPV6_FREEBIND

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

Result<> ApplyRawOpts(int sk, const img::inet_sk_entry& e, uint32_t id) {
  const auto& raw = e.ip_opts().raw();
  bool v4 = e.family() == AF_INET;
  if (raw.hdrincl())
    CRYO_TRY(v4 ? SetInt(sk, SOL_IP, IP_HDRINCL, 1, "IP_HDRINCL", id)
                : SetInt(sk, SOL_IPV6, kIpv6Hdrincl, 1, "IPV6_HDRINCL", id));
  if (v4 && raw.nodefrag()) CRYO_TRY(SetInt(sk, SOL_IP, IP_NODEFRAG, 1, "IP_NODEFRAG", id));
  if (raw.icmpv_filter_size() == 0) return {};
  if (v4 && e.proto() == IPPROTO_ICMP) {
    icmp_filter f{raw.icmpv_filter(0)};
    if (::setsockopt(sk, SOL_RAW, ICMP_FILTER, &f, sizeof f) != 0) return ErrnoError("socket {}: ICMP_FILTER", id);
  } else if (!v4 && e.proto() == IPPROTO_ICMPV6) {
    icmp6_filter f{};
    if (static_cast<size_t>(raw.icmpv_filter_size()) != std::size(f.icmp6_filt))
      return MakeError(EINVAL, "socket {}: an ICMPv6 filter of {} words", id, raw.icmpv_filter_size());
    for (size_t i = 0; i < std::size(f.icmp6_filt); i++) f.icmp6_filt[i] = raw.icmpv_filter(static_cast<int>(i));
    if (::setsockopt(sk, SOL_ICMPV6, ICMP6_FILTER, &f, sizeof f) != 0)
      return ErrnoError("socket {}: ICMPV6_FILTER", id);
  }
  return {};
}

// IP_FREEBIND is set again after the bind (Bind).
Result<> ApplyIpOpts(int sk, const img::inet_sk_entry& e, uint32_t id) {
  const auto& ip = e.ip_opts();
  bool v4 = e.family() == AF_INET;
  if (ip.pktinfo())
    CRYO_TRY(v4 ? SetInt(sk, SOL_IP, IP_PKTINFO, 1, "IP_PKTINFO", id)
                : SetInt(sk, SOL_IPV6, IPV6_RECVPKTINFO, 1, "IPV6_RECVPKTINFO", id));
  if (v4 && ip.has_tos()) CRYO_TRY(SetInt(sk, SOL_IP, IP_TOS, static_cast<int>(ip.tos()), "IP_TOS", id));
  if (v4 && ip.has_ttl()) CRYO_TRY(SetInt(sk, SOL_IP, IP_TTL, static_cast<int>(ip.ttl()), "IP_TTL", id));
  if (ip.has_raw()) CRYO_TRY(ApplyRawOpts(sk, e, id));
  return {};
}

Result<> SetFreebind(int sk, const img::inet_sk_entry& e, bool on, uint32_t id) {
  return e.family() == AF_INET ? SetInt(sk, SOL_IP, IP_FREEBIND, on, "IP_FREEBIND", id)
                               : SetInt(sk, SOL_IPV6, kIpv6Freebind, on, "IPV6_FREEBIND", id);
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
// (closed in repair mode, they linger nowhere; others may), by other
// listeners of the tree that shared it (SO_REUSEPORT, perhaps cleared
// since), and the address itself may not be there yet (an IPv6 address
// still tentative, one the program bound with IP_FREEBIND then cleared):
// SO_REUSEADDR, SO_REUSEPORT and IP_FREEBIND while binding; the tree's
// own settings come back once all its sockets exist (ResetReuse).
Result<> Bind(int sk, const sockaddr_storage& self, const img::inet_sk_entry& e, uint32_t id) {
  CRYO_TRY(SetInt(sk, SOL_SOCKET, SO_REUSEADDR, 1, "SO_REUSEADDR", id));
  CRYO_TRY(SetInt(sk, SOL_SOCKET, SO_REUSEPORT, 1, "SO_REUSEPORT", id));
  CRYO_TRY(SetFreebind(sk, e, true, id));
  if (::bind(sk, reinterpret_cast<const sockaddr*>(&self), LengthOf(self)) != 0) {
    char buf[INET6_ADDRSTRLEN] = "?";
    const void* a = self.ss_family == AF_INET ? static_cast<const void*>(&reinterpret_cast<const sockaddr_in&>(self).sin_addr)
                                              : static_cast<const void*>(&reinterpret_cast<const sockaddr_in6&>(self).sin6_addr);
    ::inet_ntop(self.ss_family, a, buf, sizeof buf);
    return ErrnoError("socket {}: bind to {} port {}", id, buf, e.src_port());
  }
  return {};
}

// A closed connection's socket that still holds its port (an accepted
// one shares its listener's): bound in repair mode, which lets it share.
Result<> BindRepaired(int sk, const sockaddr_storage& self, const img::inet_sk_entry& e, uint32_t id) {
  CRYO_TRY(SetInt(sk, SOL_TCP, TCP_REPAIR, 1, "TCP_REPAIR", id));
  if (::bind(sk, reinterpret_cast<const sockaddr*>(&self), LengthOf(self)) != 0)
    return ErrnoError("socket {}: bind (repair mode) to port {}", id, e.src_port());
  return SetInt(sk, SOL_TCP, TCP_REPAIR, 0, "TCP_REPAIR", id);
}

// A closed TCP socket: shut down as the image says (a fresh socket is
// "not connected", yet takes the shutdown).
Result<> ShutdownClosed(int sk, int how, uint32_t id) {
  if (::shutdown(sk, how) != 0 && errno != ENOTCONN) return ErrnoError("socket {}: shutdown", id);
  return {};
}

int How(img::sk_shutdown s) { return s == img::READ ? SHUT_RD : s == img::WRITE ? SHUT_WR : SHUT_RDWR; }

Result<UniqueFd> Create(const ImageSet& s, uint32_t id, const img::inet_sk_entry& e, bool tcp_close,
                        TcpConnections& conns) {
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
  bool shut = e.has_shutdown() && e.shutdown() != img::NONE;
  // A connection that ended with bytes still to be read: rebuilt with them.
  if (tcp && e.state() == TCP_CLOSE && e.dst_addr_size() > 0 && !tcp_close &&
      TcpConnections::HasStream(s.dir.get(), e.ino()))
    connected = true, shut = false;
  if (tcp && connected && tcp_close) {
    // --tcp-close: unbound (its port may be its listener's), closed.
    CRYO_TRY(ShutdownClosed(fd, SHUT_RDWR, id));
    shut = false;
  } else if (tcp && connected) {
    sockaddr_storage peer = CRYO_TRY(Address(e.family(), e.dst_addr(), e.dst_port(), id));
    CRYO_TRY_CTX(conns.Restore(fd, s.dir.get(), e.ino(), static_cast<int>(e.state()), self, peer, e.opts().so_sndbuf(),
                               e.opts().so_rcvbuf(), e.opts().reuseaddr(), e.opts().so_buf_lock()),
                 "socket {}: TCP connection", id);
  } else if (tcp && e.state() == TCP_CLOSE && shut) {
    // A connection that ended: bound again only if it held on to its
    // port (the dump leaves out one that let it go).
    if (e.src_port() != 0) CRYO_TRY(BindRepaired(fd, self, e, id));
    CRYO_TRY(ShutdownClosed(fd, How(e.shutdown()), id));
    shut = false;
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
  CRYO_TRY(SetFreebind(fd, e, e.ip_opts().freebind(), id));
  if (shut) {
    // An unconnected socket says ENOTCONN but takes it.
    if (::shutdown(fd, How(e.shutdown())) != 0 && (errno != ENOTCONN || connected))
      return ErrnoError("socket {}: shutdown", id);
  }
  constexpr uint32_t kStatus = O_NONBLOCK | O_ASYNC;
  if (::fcntl(fd, F_SETFL, e.flags() & kStatus) != 0) return ErrnoError("socket {}: flags", id);
  return sk;
}

}  // namespace

Result<> CreateInetSockets(const ImageSet& s, bool tcp_close, std::map<uint32_t, UniqueFd>& out,
                          TcpConnections& conns) {
  // Listeners first: connections accepted from them share their port.
  for (int pass = 0; pass < 2; pass++)
    for (const auto& [id, e] : s.inet_sks) {
      bool listener = e.state() == TCP_LISTEN;
      if (listener != (pass == 0)) continue;
      out[id] = CRYO_TRY(Create(s, id, e, tcp_close, conns));
    }
  // Sharing the ports is over: each socket's own SO_REUSEADDR and
  // SO_REUSEPORT (a connection's SO_REUSEADDR again once it leaves
  // repair mode).
  for (const auto& [id, e] : s.inet_sks) {
    int fd = out.at(id).get();
    CRYO_TRY(SetInt(fd, SOL_SOCKET, SO_REUSEADDR, e.opts().reuseaddr(), "SO_REUSEADDR", id));
    CRYO_TRY(SetInt(fd, SOL_SOCKET, SO_REUSEPORT, e.opts().so_reuseport(), "SO_REUSEPORT", id));
  }
  return {};
}

}  // namespace cryo
