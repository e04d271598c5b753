#include "engine/dump/inet_socket.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <linux/icmp.h>
#include <netinet/icmp6.h>
#include <linux/sockios.h>
#include <poll.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <netinet/udp.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <span>

#include "engine/dump/file_table.h"
#include "engine/dump/inet_diag.h"
#include "engine/dump/socket_opts.h"
#include "engine/dump/tcp_stream.h"
#include "engine/image/image_writer.h"
#include "netns/lock.h"

namespace cryo {
namespace {

constexpr int kIpv6Hdrincl = 36;  // IPV6_HDRINCL of linux/in6.h

Result<int> GetInt(int sk, int level, int name) {
  int v = 0;
  socklen_t l = sizeof v;
  if (::getsockopt(sk, level, name, &v, &l) != 0) return ErrnoError("getsockopt {}/{}", level, name);
  return v;
}

// An address as the image holds it: 1 or 4 words in network order, and
// the port in host order.
void PutAddr(const sockaddr_storage& a, google::protobuf::RepeatedField<uint32_t>* words, uint32_t* port) {
  if (a.ss_family == AF_INET) {
    const auto& v4 = reinterpret_cast<const sockaddr_in&>(a);
    words->Add(v4.sin_addr.s_addr);
    *port = ntohs(v4.sin_port);
  } else if (a.ss_family == AF_INET6) {
    const auto& v6 = reinterpret_cast<const sockaddr_in6&>(a);
    for (int i = 0; i < 4; i++) {
      uint32_t w;
      std::memcpy(&w, v6.sin6_addr.s6_addr + 4 * i, 4);
      words->Add(w);
    }
    *port = ntohs(v6.sin6_port);
  }
}

std::string Bytes(const sockaddr_storage& a) {
  if (a.ss_family == AF_INET) {
    const auto& v4 = reinterpret_cast<const sockaddr_in&>(a);
    return std::string(reinterpret_cast<const char*>(&v4.sin_addr), 4);
  }
  const auto& v6 = reinterpret_cast<const sockaddr_in6&>(a);
  return std::string(reinterpret_cast<const char*>(&v6.sin6_addr), 16);
}

std::string Printable(const sockaddr_storage& a) {
  char buf[INET6_ADDRSTRLEN] = "?";
  if (a.ss_family == AF_INET) {
    const auto& v4 = reinterpret_cast<const sockaddr_in&>(a);
    ::inet_ntop(AF_INET, &v4.sin_addr, buf, sizeof buf);
    return fmt::format("{}:{}", buf, ntohs(v4.sin_port));
  }
  const auto& v6 = reinterpret_cast<const sockaddr_in6&>(a);
  ::inet_ntop(AF_INET6, &v6.sin6_addr, buf, sizeof buf);
  return fmt::format("[{}]:{}", buf, ntohs(v6.sin6_port));
}

const char* StateName(int state) {
  static const char* const kNames[] = {"?",         "ESTABLISHED", "SYN_SENT", "SYN_RECV", "FIN_WAIT1", "FIN_WAIT2",
                                       "TIME_WAIT", "CLOSE",       "CLOSE_WAIT", "LAST_ACK", "LISTEN",  "CLOSING"};
  return state >= 0 && state < 12 ? kNames[state] : "?";
}

bool Connected(int state) {
  return state == TCP_ESTABLISHED || state == TCP_FIN_WAIT1 || state == TCP_FIN_WAIT2 || state == TCP_CLOSE_WAIT ||
         state == TCP_LAST_ACK || state == TCP_CLOSING;
}

Result<> ReadRawOpts(int sk, int family, int proto, img::ip_opts_raw_entry* raw) {
  if (family == AF_INET) {
    if (CRYO_TRY(GetInt(sk, SOL_IP, IP_HDRINCL))) raw->set_hdrincl(true);
    if (CRYO_TRY(GetInt(sk, SOL_IP, IP_NODEFRAG))) raw->set_nodefrag(true);
  } else if (CRYO_TRY(GetInt(sk, SOL_IPV6, kIpv6Hdrincl))) {
    raw->set_hdrincl(true);
  }
  // The ICMP type filter: one word for ICMP, eight for ICMPv6.
  if (family == AF_INET && proto == IPPROTO_ICMP) {
    icmp_filter f{};
    socklen_t l = sizeof f;
    if (::getsockopt(sk, SOL_RAW, ICMP_FILTER, &f, &l) != 0) return ErrnoError("getsockopt ICMP_FILTER");
    if (f.data != 0) raw->add_icmpv_filter(f.data);
  }
  if (family == AF_INET6 && proto == IPPROTO_ICMPV6) {
    icmp6_filter f{};
    socklen_t l = sizeof f;
    if (::getsockopt(sk, SOL_ICMPV6, ICMP6_FILTER, &f, &l) != 0) return ErrnoError("getsockopt ICMPV6_FILTER");
    for (uint32_t w : f.icmp6_filt) raw->add_icmpv_filter(w);
  }
  return {};
}

Result<> ReadIpOpts(int sk, int family, int type, int proto, img::inet_sk_entry* e) {
  auto* ip = e->mutable_ip_opts();
  if (family == AF_INET) {
    if (CRYO_TRY(GetInt(sk, SOL_IP, IP_FREEBIND))) ip->set_freebind(true);
    if (CRYO_TRY(GetInt(sk, SOL_IP, IP_PKTINFO))) ip->set_pktinfo(true);
    if (int tos = CRYO_TRY(GetInt(sk, SOL_IP, IP_TOS)); tos != 0) ip->set_tos(static_cast<uint32_t>(tos));
    // As CRIU: the TTL it reports, the namespace's default when unset.
    if (int ttl = CRYO_TRY(GetInt(sk, SOL_IP, IP_TTL)); ttl != 0) ip->set_ttl(static_cast<uint32_t>(ttl));
  } else {
    if (CRYO_TRY(GetInt(sk, SOL_IPV6, IPV6_FREEBIND))) ip->set_freebind(true);
    if (CRYO_TRY(GetInt(sk, SOL_IPV6, IPV6_RECVPKTINFO))) ip->set_pktinfo(true);
    if (type != SOCK_RAW) e->set_v6only(CRYO_TRY(GetInt(sk, SOL_IPV6, IPV6_V6ONLY)) != 0);
  }
  if (type == SOCK_RAW) CRYO_TRY(ReadRawOpts(sk, family, proto, ip->mutable_raw()));
  return {};
}

Result<> ReadTcpOpts(int sk, img::inet_sk_entry* e) {
  auto* t = e->mutable_tcp_opts();
  if (CRYO_TRY(GetInt(sk, SOL_TCP, TCP_NODELAY))) t->set_nodelay(true);
  if (CRYO_TRY(GetInt(sk, SOL_TCP, TCP_CORK))) t->set_cork(true);
  t->set_keepcnt(static_cast<uint32_t>(CRYO_TRY(GetInt(sk, SOL_TCP, TCP_KEEPCNT))));
  t->set_keepidle(static_cast<uint32_t>(CRYO_TRY(GetInt(sk, SOL_TCP, TCP_KEEPIDLE))));
  t->set_keepintvl(static_cast<uint32_t>(CRYO_TRY(GetInt(sk, SOL_TCP, TCP_KEEPINTVL))));
  return {};
}

}  // namespace

void RepairedConnections::SetLock(NetworkLock method, std::string run_id, pid_t pid, Log& log) {
  method_ = method;
  run_id_ = std::move(run_id);
  log_ = &log;
  struct stat mine, tree;
  lock_ = ::stat("/proc/self/ns/net", &mine) == 0 && ::stat(fmt::format("/proc/{}/ns/net", pid).c_str(), &tree) == 0 &&
          mine.st_ino == tree.st_ino;
}

RepairedConnections::~RepairedConnections() { Resume(); }

void RepairedConnections::Keep() {
  // Closed while still in repair mode: not a word to the peers; the lock
  // stays for the restore to lift.
  socks_.clear();
  reuse_.clear();
  locked_ = false;
}

Result<> RepairedConnections::Add(int sk, TcpConnection c) {
  if (lock_) {
    netns::Connection l;
    l.family = c.family;
    std::memcpy(l.src.data(), c.src.data(), std::min(c.src.size(), sizeof l.src));
    std::memcpy(l.dst.data(), c.dst.data(), std::min(c.dst.size(), sizeof l.dst));
    l.sport = c.src_port;
    l.dport = c.dst_port;
    locked_ = true;
    CRYO_TRY(netns::LockConnections(method_, run_id_, std::span(&l, 1), *log_));
  }
  UniqueFd held(::fcntl(sk, F_DUPFD_CLOEXEC, 0));
  if (!held) return ErrnoError("dup");
  // Leaving repair mode clears SO_REUSEADDR: it is put back then.
  int reuse = 0;
  socklen_t l = sizeof reuse;
  if (::getsockopt(sk, SOL_SOCKET, SO_REUSEADDR, &reuse, &l) != 0) return ErrnoError("SO_REUSEADDR");
  CRYO_TRY(SetTcpRepair(sk, 1));
  socks_.push_back(std::move(held));
  reuse_.push_back(reuse);
  return {};
}

void RepairedConnections::Resume() {
  for (size_t i = 0; i < socks_.size(); i++) {
    (void)SetTcpRepair(socks_[i].get(), 0);
    ::setsockopt(socks_[i].get(), SOL_SOCKET, SO_REUSEADDR, &reuse_[i], sizeof reuse_[i]);
  }
  socks_.clear();
  reuse_.clear();
  if (locked_)
    if (auto r = netns::UnlockConnections(method_, run_id_, *log_); !r) log_->Error("{}", r.error().what());
  locked_ = false;
}

int InetSockets::Family(int sk) {
  int d = -1;
  socklen_t l = sizeof d;
  if (::getsockopt(sk, SOL_SOCKET, SO_DOMAIN, &d, &l) != 0) return 0;
  return d == AF_INET || d == AF_INET6 ? d : 0;
}

Result<const InetDiag*> InetSockets::Diag(pid_t pid, int family, int proto, uint32_t ino) {
  auto key = std::make_pair(family, proto);
  auto it = diag_.find(key);
  if (it == diag_.end())
    it = diag_.emplace(key, CRYO_TRY_CTX(ListInetSockets(pid, family, proto), "pid {}: inet sockets", pid)).first;
  auto d = it->second.find(ino);
  return d == it->second.end() ? nullptr : &d->second;
}

Result<img::file_entry> InetSockets::Dump(pid_t pid, int fd, UniqueFd sk, uint32_t id, uint32_t ino,
                                          uint32_t flags) {
  int family = Family(sk.get());
  const char* fam = family == AF_INET ? "IPv4" : "IPv6";
  int type = CRYO_TRY(GetInt(sk.get(), SOL_SOCKET, SO_TYPE));
  int proto = CRYO_TRY(GetInt(sk.get(), SOL_SOCKET, SO_PROTOCOL));
  bool tcp = type == SOCK_STREAM && proto == IPPROTO_TCP;
  bool dgram = type == SOCK_DGRAM && (proto == IPPROTO_UDP || proto == IPPROTO_UDPLITE || proto == IPPROTO_ICMP ||
                                      proto == IPPROTO_ICMPV6);
  if (!tcp && !dgram && type != SOCK_RAW)
    return MakeError(ENOTSUP, "pid {} fd {}: an {} socket of type {} protocol {}: not supported", pid, fd, fam, type,
                     proto);
  if (netns_ != 0) {
    UniqueFd ns(::ioctl(sk.get(), SIOCGSKNS));
    struct stat st;
    if (ns && ::fstat(ns.get(), &st) == 0 && st.st_ino != netns_)
      return MakeError(ENOTSUP, "pid {} fd {}: an {} socket of another network namespace: not supported", pid, fd, fam);
  }
  sockaddr_storage self{}, peer{};
  socklen_t l = sizeof self;
  if (::getsockname(sk.get(), reinterpret_cast<sockaddr*>(&self), &l) != 0)
    return ErrnoError("pid {} fd {}: getsockname", pid, fd);
  l = sizeof peer;
  bool has_peer = ::getpeername(sk.get(), reinterpret_cast<sockaddr*>(&peer), &l) == 0;
  int state = has_peer ? TCP_ESTABLISHED : TCP_CLOSE;
  tcp_info ti{};
  if (tcp) {
    l = sizeof ti;
    if (::getsockopt(sk.get(), SOL_TCP, TCP_INFO, &ti, &l) != 0) return ErrnoError("pid {} fd {}: TCP_INFO", pid, fd);
    state = ti.tcpi_state;
  }

  img::file_entry fe;
  fe.set_type(img::INETSK);
  fe.set_id(id);
  auto* e = fe.mutable_isk();
  e->set_id(id);
  e->set_ino(ino);
  e->set_family(static_cast<uint32_t>(family));
  e->set_type(static_cast<uint32_t>(type));
  e->set_proto(static_cast<uint32_t>(proto));
  e->set_state(static_cast<uint32_t>(state));
  e->set_flags(flags);
  e->set_backlog(0);
  uint32_t port = 0;
  self.ss_family = static_cast<sa_family_t>(family);
  PutAddr(self, e->mutable_src_addr(), &port);
  e->set_src_port(port);
  port = 0;
  if (has_peer) PutAddr(peer, e->mutable_dst_addr(), &port);
  e->set_dst_port(port);
  NoOwner(e->mutable_fown());
  CRYO_TRY_CTX(ReadSocketOpts(sk.get(), e->mutable_opts(), true), "pid {} fd {}", pid, fd);
  CRYO_TRY_CTX(ReadIpOpts(sk.get(), family, type, proto, e), "pid {} fd {}", pid, fd);
  bool udp = type == SOCK_DGRAM && (proto == IPPROTO_UDP || proto == IPPROTO_UDPLITE);
  if (udp) {
    // Corked data would be lost, and the image has no place for the cork.
    if (CRYO_TRY(GetInt(sk.get(), proto, UDP_CORK)))
      return MakeError(ENOTSUP, "pid {} fd {}: UDP socket {} is corked (UDP_CORK): not supported", pid, fd,
                       Printable(self));
    const InetDiag* d = CRYO_TRY(Diag(pid, family, proto, ino));
    if (d && d->shutdown) e->set_shutdown(static_cast<img::sk_shutdown>(d->shutdown & 3));
    if (!d) {
      // Unbound, so not listed: poll tells a shut reading side (RDHUP)
      // and both sides shut (HUP).
      pollfd p{sk.get(), POLLRDHUP, 0};
      if (::poll(&p, 1, 0) > 0 && (p.revents & POLLRDHUP))
        e->set_shutdown((p.revents & POLLHUP) ? img::BOTH : img::READ);
    }
    return fe;
  }
  if (!tcp) return fe;
  CRYO_TRY_CTX(ReadTcpOpts(sk.get(), e), "pid {} fd {}", pid, fd);

  if (state == TCP_CLOSE) {
    // A socket whose connection ended: shut down both ways. If it still
    // holds its port (sock_diag lists it: bound by the program, or
    // accepted on its listener's), it keeps that and the peer, as CRIU
    // has them; if it let the port go, it comes back unbound.
    const InetDiag* d = CRYO_TRY(Diag(pid, family, proto, ino));
    pollfd p{sk.get(), POLLRDHUP, 0};
    bool ended = ::poll(&p, 1, 0) > 0 && (p.revents & POLLRDHUP);
    int unread = 0;
    if (::ioctl(sk.get(), SIOCINQ, &unread) != 0) return ErrnoError("pid {} fd {}: SIOCINQ", pid, fd);
    if (unread > 0) {
      // Received bytes not read yet: the connection is rebuilt in repair
      // mode with them, then ended again.
      if (!opts_.tcp_established || opts_.tcp_close)
        return MakeError(ENOTSUP, "pid {} fd {}: closed TCP socket {} has {} bytes not read yet: dump with "
                         "--tcp-established", pid, fd, Printable(self), unread);
      peer = {};
      peer.ss_family = static_cast<sa_family_t>(family);
      if (!d || d->dst_port == 0) {
        // The peer is gone from every view once the socket let its port
        // go, and no call shows a closed socket's peer: the rebuilt one
        // is "connected" to its own address, port 1 (never seen, nothing
        // goes out).
        peer = self;
        if (family == AF_INET)
          reinterpret_cast<sockaddr_in&>(peer).sin_port = htons(1);
        else
          reinterpret_cast<sockaddr_in6&>(peer).sin6_port = htons(1);
      } else if (family == AF_INET) {
        auto& v4 = reinterpret_cast<sockaddr_in&>(peer);
        std::memcpy(&v4.sin_addr, d->dst.data(), 4);
        v4.sin_port = htons(d->dst_port);
      } else {
        auto& v6 = reinterpret_cast<sockaddr_in6&>(peer);
        std::memcpy(&v6.sin6_addr, d->dst.data(), 16);
        v6.sin6_port = htons(d->dst_port);
      }
      port = 0;
      PutAddr(peer, e->mutable_dst_addr(), &port);
      e->set_dst_port(port);
      if (d && d->shutdown) e->set_shutdown(static_cast<img::sk_shutdown>(d->shutdown & 3));
      CRYO_TRY(DumpStream(pid, fd, sk.get(), ino, family, self, peer, e));
      return fe;
    }
    if (d) {
      if (d->shutdown) e->set_shutdown(static_cast<img::sk_shutdown>(d->shutdown & 3));
      if (d->dst_port != 0) {
        for (size_t i = 0; i + 4 <= d->dst.size(); i += 4) {
          uint32_t w;
          std::memcpy(&w, d->dst.data() + i, 4);
          e->add_dst_addr(w);
        }
        e->set_dst_port(d->dst_port);
      }
    } else if (ended) {
      e->set_shutdown(img::BOTH);
      e->clear_src_addr();
      e->set_src_port(0);
    }
    return fe;
  }
  if (state == TCP_LISTEN) {
    // TCP_INFO of a listener: tcpi_sacked is its backlog, tcpi_unacked
    // the connections waiting to be accepted.
    e->set_backlog(ti.tcpi_sacked);
    if (ti.tcpi_unacked > 0 && !opts_.tcp_skip_in_flight)
      return MakeError(ENOTSUP,
                       "pid {} fd {}: TCP listener {} has {} connections not accepted yet (dump with "
                       "--skip-in-flight to drop them)",
                       pid, fd, Printable(self), ti.tcpi_unacked);
    return fe;
  }
  if (state == TCP_SYN_SENT) {
    // Connecting: no call shows the peer yet, sock_diag does; the
    // restore sends the same SYN again.
    const InetDiag* d = CRYO_TRY(Diag(pid, family, proto, ino));
    if (!d || d->dst_port == 0)
      return MakeError(ENOTSUP, "pid {} fd {}: TCP socket {} connecting to an unknown peer: not supported", pid, fd,
                       Printable(self));
    peer = {};
    peer.ss_family = static_cast<sa_family_t>(family);
    if (family == AF_INET) {
      std::memcpy(&reinterpret_cast<sockaddr_in&>(peer).sin_addr, d->dst.data(), 4);
      reinterpret_cast<sockaddr_in&>(peer).sin_port = htons(d->dst_port);
    } else {
      std::memcpy(&reinterpret_cast<sockaddr_in6&>(peer).sin6_addr, d->dst.data(), 16);
      reinterpret_cast<sockaddr_in6&>(peer).sin6_port = htons(d->dst_port);
    }
    has_peer = true;
    port = 0;
    PutAddr(peer, e->mutable_dst_addr(), &port);
    e->set_dst_port(port);
  }
  std::string conn = fmt::format("{} -> {}", Printable(self), Printable(peer));
  if (!Connected(state) && state != TCP_SYN_SENT)
    return MakeError(ENOTSUP, "pid {} fd {}: TCP socket {} in state {}: not supported", pid, fd,
                     has_peer ? conn : Printable(self), StateName(state));
  if (opts_.tcp_close) {
    // --tcp-close: the connection is not kept (no tcp-stream image); the
    // entry says what it was, and the restore (told by the inventory)
    // makes it a closed socket, shut down both ways.
    return fe;
  }
  if (!opts_.tcp_established)
    return MakeError(ENOTSUP, "pid {} fd {}: TCP connection {} is established: dump with --tcp-established", pid, fd,
                     conn);
  CRYO_TRY(DumpStream(pid, fd, sk.get(), ino, family, self, peer, e));
  return fe;
}

Result<> InetSockets::DumpStream(pid_t pid, int fd, int sk, uint32_t ino, int family, const sockaddr_storage& self,
                                 const sockaddr_storage& peer, img::inet_sk_entry* e) {
  std::string conn = fmt::format("{} -> {}", Printable(self), Printable(peer));
  if (!repaired_) return MakeError(EINVAL, "pid {} fd {}: TCP connection {}: nowhere to keep it", pid, fd, conn);
  CRYO_TRY_CTX(repaired_->Add(sk, TcpConnection{family, Bytes(self), Bytes(peer), static_cast<uint16_t>(e->src_port()),
                                                static_cast<uint16_t>(e->dst_port())}),
               "pid {} fd {}: TCP connection {}", pid, fd, conn);
  TcpStream s = CRYO_TRY_CTX(ReadTcpStream(sk), "pid {} fd {}: TCP connection {}", pid, fd, conn);
  if (!Connected(s.state) && s.state != static_cast<int>(e->state()))
    return MakeError(ENOTSUP, "pid {} fd {}: TCP connection {} went to state {} while dumped: not supported", pid, fd,
                     conn, StateName(s.state));
  e->set_state(static_cast<uint32_t>(s.state));
  ImageWriter w(dir_, ImageKind::kTcpStream, ino);
  CRYO_TRY(w.Write(s.entry));
  CRYO_TRY(w.WriteRaw(std::string_view(s.inq)));
  CRYO_TRY(w.WriteRaw(std::string_view(s.outq)));
  return w.Close();
}

}  // namespace cryo
