#include "engine/restore/tcp_stream.h"

#include <netinet/in.h>
#include <netinet/tcp.h>

#include <algorithm>
#include <climits>
#include <cstring>

#include <arpa/inet.h>
#include <fcntl.h>
#include <unistd.h>

#include "engine/image/image_reader.h"
#include "engine/image/proto/socket.pb.h"

namespace cryo {
namespace {

// The mark network locks let through (CRIU's, 0xc114).
constexpr int kRepairMark = 0xc114;

struct RepairWindow {  // struct tcp_repair_window of linux/tcp.h
  uint32_t snd_wl1, snd_wnd, max_window, rcv_wnd, rcv_wup;
};

socklen_t LengthOf(const sockaddr_storage& a) {
  return a.ss_family == AF_INET ? sizeof(sockaddr_in) : sizeof(sockaddr_in6);
}

Result<> SetOpt(int sk, int name, const void* v, socklen_t len, const char* what) {
  if (::setsockopt(sk, SOL_TCP, name, v, len) != 0) return ErrnoError("{}", what);
  return {};
}

Result<> SetQueueSeq(int sk, int queue, uint32_t seq) {
  CRYO_TRY(SetOpt(sk, TCP_REPAIR_QUEUE, &queue, sizeof queue, "TCP_REPAIR_QUEUE"));
  return SetOpt(sk, TCP_QUEUE_SEQ, &seq, sizeof seq, "TCP_QUEUE_SEQ");
}

// Sends `data` into the selected queue. In repair mode the kernel makes
// one linear buffer per call: a large one may fail, and a smaller one
// then goes.
Result<> Fill(int sk, std::string_view data, const char* what) {
  size_t chunk = data.size();
  while (!data.empty()) {
    // Never waiting: with the tree frozen, nothing would make room.
    ssize_t n = ::send(sk, data.data(), std::min(chunk, data.size()), MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n <= 0) {
      if (chunk > 1024) {
        chunk /= 2;
        continue;
      }
      return ErrnoError("{}: {} bytes left", what, data.size());
    }
    data.remove_prefix(static_cast<size_t>(n));
  }
  return {};
}

// The queues go back one buffer at a time, each costing more than its
// bytes: while they are filled the buffers are made roomy enough for
// all of it, and put back to their sizes afterwards (a size below what
// is queued only holds back new data until the queue drains).
Result<> SetBuffer(int sk, int name, uint64_t size, const char* what) {
  int half = static_cast<int>(std::min<uint64_t>(size / 2, INT32_MAX / 2));
  if (half <= 0) return {};
  if (::setsockopt(sk, SOL_SOCKET, name, &half, sizeof half) != 0) return ErrnoError("{} {}", what, size);
  return {};
}

uint64_t Roomy(uint64_t queued, uint32_t had) { return std::max<uint64_t>(had, 4 * queued + (2u << 20)); }

// Half-closed connections: which FINs the dumped state had seen (after
// libsoccr's table). Ours was sent (and, in FIN_WAIT2, acknowledged);
// the peer's was received.
// A connection that ended (TCP_CLOSE, kept for the bytes it still had to
// be read) comes back the FIN_WAIT2 way, then takes the peer's FIN.
constexpr bool OurFin(int st) {
  return st == TCP_FIN_WAIT1 || st == TCP_FIN_WAIT2 || st == TCP_CLOSING || st == TCP_LAST_ACK || st == TCP_CLOSE;
}
constexpr bool OurFinFirst(int st) {
  return st == TCP_FIN_WAIT1 || st == TCP_FIN_WAIT2 || st == TCP_CLOSING || st == TCP_CLOSE;
}
constexpr bool OurFinAcked(int st) { return st == TCP_FIN_WAIT2 || st == TCP_CLOSE; }
constexpr bool TheirFin(int st) {
  return st == TCP_CLOSE_WAIT || st == TCP_LAST_ACK || st == TCP_CLOSING || st == TCP_CLOSE;
}

// The FIN we sent, queued again by shutdown(SHUT_WR) in repair mode: in
// the send queue it counts as sent (acknowledged); otherwise it goes out,
// a duplicate of the one the peer has (or will get) anyway.
Result<> QueueOurFin(int sk, bool acked) {
  int queue = TCP_SEND_QUEUE;
  if (acked) CRYO_TRY(SetOpt(sk, TCP_REPAIR_QUEUE, &queue, sizeof queue, "TCP_REPAIR_QUEUE"));
  if (::shutdown(sk, SHUT_WR) != 0) return ErrnoError("shutdown");
  queue = TCP_NO_QUEUE;
  if (acked) CRYO_TRY(SetOpt(sk, TCP_REPAIR_QUEUE, &queue, sizeof queue, "TCP_REPAIR_QUEUE"));
  return {};
}

uint16_t Checksum(const unsigned char* p, size_t len, uint32_t sum = 0) {
  for (size_t i = 0; i + 1 < len; i += 2) sum += static_cast<uint32_t>(p[i] << 8 | p[i + 1]);
  if (len & 1) sum += static_cast<uint32_t>(p[len - 1] << 8);
  while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
  return htons(static_cast<uint16_t>(~sum));
}

// A segment as if from the peer (its FIN, or its ACK of ours), made on a
// raw socket with the lock's mark so a network lock lets it by: the
// restored socket takes it as it took the real one.
// An IPv6 address that stands for an IPv4 one (::ffff:a.b.c.d), as IPv4.
sockaddr_storage Unmapped(const sockaddr_storage& a) {
  if (a.ss_family != AF_INET6) return a;
  const auto& v6 = reinterpret_cast<const sockaddr_in6&>(a);
  if (!IN6_IS_ADDR_V4MAPPED(&v6.sin6_addr)) return a;
  sockaddr_storage out{};
  auto& v4 = reinterpret_cast<sockaddr_in&>(out);
  v4.sin_family = AF_INET;
  v4.sin_port = v6.sin6_port;
  std::memcpy(&v4.sin_addr, v6.sin6_addr.s6_addr + 12, 4);
  return out;
}

Result<> FromPeer(const sockaddr_storage& self_in, const sockaddr_storage& peer_in, uint32_t seq, uint32_t ack,
                  uint16_t window, bool fin) {
  // A dual-stack socket's IPv4 connection runs over IPv4.
  sockaddr_storage self = Unmapped(self_in), peer = Unmapped(peer_in);
  bool v4 = self.ss_family == AF_INET;
  unsigned char pkt[60] = {};
  size_t ip_len = v4 ? 20 : 40;
  unsigned char* tcp = pkt + ip_len;
  const auto& s4 = reinterpret_cast<const sockaddr_in&>(self);
  const auto& p4 = reinterpret_cast<const sockaddr_in&>(peer);
  const auto& s6 = reinterpret_cast<const sockaddr_in6&>(self);
  const auto& p6 = reinterpret_cast<const sockaddr_in6&>(peer);
  uint16_t sport = v4 ? p4.sin_port : p6.sin6_port, dport = v4 ? s4.sin_port : s6.sin6_port;
  std::memcpy(tcp, &sport, 2);
  std::memcpy(tcp + 2, &dport, 2);
  uint32_t nseq = htonl(seq), nack = htonl(ack);
  std::memcpy(tcp + 4, &nseq, 4);
  std::memcpy(tcp + 8, &nack, 4);
  tcp[12] = 5 << 4;
  tcp[13] = static_cast<unsigned char>(0x10 | (fin ? 0x01 : 0));  // ACK, FIN
  uint16_t nwin = htons(window);
  std::memcpy(tcp + 14, &nwin, 2);
  // The pseudo header's sum, then the segment's.
  unsigned char pseudo[40] = {};
  size_t plen;
  if (v4) {
    std::memcpy(pseudo, &p4.sin_addr, 4);
    std::memcpy(pseudo + 4, &s4.sin_addr, 4);
    pseudo[9] = IPPROTO_TCP;
    pseudo[11] = 20;
    plen = 12;
  } else {
    std::memcpy(pseudo, &p6.sin6_addr, 16);
    std::memcpy(pseudo + 16, &s6.sin6_addr, 16);
    pseudo[35] = 20;
    pseudo[39] = IPPROTO_TCP;
    plen = 40;
  }
  uint16_t ps = static_cast<uint16_t>(~ntohs(Checksum(pseudo, plen)));
  uint16_t sum = Checksum(tcp, 20, ps);
  std::memcpy(tcp + 16, &sum, 2);
  if (v4) {
    pkt[0] = 0x45;
    pkt[3] = 40;
    pkt[8] = 64;
    pkt[9] = IPPROTO_TCP;
    std::memcpy(pkt + 12, &p4.sin_addr, 4);
    std::memcpy(pkt + 16, &s4.sin_addr, 4);
  } else {
    pkt[0] = 0x60;
    pkt[5] = 20;
    pkt[6] = IPPROTO_TCP;
    pkt[7] = 64;
    std::memcpy(pkt + 8, &p6.sin6_addr, 16);
    std::memcpy(pkt + 24, &s6.sin6_addr, 16);
  }
  UniqueFd raw(::socket(self.ss_family, SOCK_RAW | SOCK_CLOEXEC, IPPROTO_RAW));
  if (!raw) return ErrnoError("raw socket");
  int mark = kRepairMark;
  if (::setsockopt(raw.get(), SOL_SOCKET, SO_MARK, &mark, sizeof mark) != 0) return ErrnoError("SO_MARK");
  sockaddr_storage to = self;
  if (v4)
    reinterpret_cast<sockaddr_in&>(to).sin_port = 0;
  else
    reinterpret_cast<sockaddr_in6&>(to).sin6_port = 0;
  if (::sendto(raw.get(), pkt, ip_len + 20, 0, reinterpret_cast<sockaddr*>(&to), LengthOf(to)) !=
      static_cast<ssize_t>(ip_len + 20))
    return ErrnoError("send the peer's {}", fin ? "FIN" : "ACK");
  return {};
}

// A connection still connecting (SYN_SENT): its SYN sent again, as the
// kernel's connect makes it, from the sequence number it had (the SYN
// takes one), out of repair mode for that call only. Its options come
// with the SYN-ACK.
Result<> Connecting(int sk, const img::tcp_stream_entry& e, const sockaddr_storage& peer) {
  CRYO_TRY(SetQueueSeq(sk, TCP_RECV_QUEUE, e.inq_seq()));
  CRYO_TRY(SetQueueSeq(sk, TCP_SEND_QUEUE, e.outq_seq() - e.outq_len() - 1));
  int flags = ::fcntl(sk, F_GETFL);
  if (flags < 0 || ::fcntl(sk, F_SETFL, flags | O_NONBLOCK) != 0) return ErrnoError("O_NONBLOCK");
  int off = 0, on = 1;
  CRYO_TRY(SetOpt(sk, TCP_REPAIR, &off, sizeof off, "TCP_REPAIR off"));
  if (::connect(sk, reinterpret_cast<const sockaddr*>(&peer), LengthOf(peer)) != 0 && errno != EINPROGRESS)
    return ErrnoError("connect");
  CRYO_TRY(SetOpt(sk, TCP_REPAIR, &on, sizeof on, "TCP_REPAIR"));
  if (::fcntl(sk, F_SETFL, flags) != 0) return ErrnoError("flags");
  return {};
}

}  // namespace

Result<> TcpConnections::Restore(int sk, int dir, uint32_t ino, int state, const sockaddr_storage& self,
                                 const sockaddr_storage& peer, uint32_t sndbuf, uint32_t rcvbuf, bool reuse,
                                 uint32_t buf_lock) {
  if (state != TCP_ESTABLISHED && state != TCP_SYN_SENT && !OurFin(state) && !TheirFin(state))
    return MakeError(ENOTSUP, "TCP state {}: not supported", state);
  ImageReader r = CRYO_TRY(ImageReader::Open(dir, ImageKind::kTcpStream, ino));
  img::tcp_stream_entry e;
  if (!r.present() || !CRYO_TRY(r.Next(e))) return MakeError(ENOENT, "tcp-stream-{:x}.img is missing", ino);
  if (e.unsq_len() > e.outq_len()) return MakeError(EINVAL, "{}: more unsent bytes than queued", r.name());
  if (e.snd_wscale() > 14 || e.rcv_wscale() > 14 || e.mss_clamp() == 0 || e.mss_clamp() > 65535)
    return MakeError(EINVAL, "{}: window scales {}/{}, MSS {}", r.name(), e.snd_wscale(), e.rcv_wscale(), e.mss_clamp());
  std::string inq = CRYO_TRY(r.ReadPayload(e.inq_len()));
  std::string outq = CRYO_TRY(r.ReadPayload(e.outq_len()));
  // The FINs take a sequence number each, counted in the dumped numbers.
  uint32_t inq_seq = e.inq_seq() - (TheirFin(state) ? 1 : 0);
  uint32_t outq_seq = e.outq_seq() - (OurFin(state) ? 1 : 0);

  int on = 1;
  CRYO_TRY(SetOpt(sk, TCP_REPAIR, &on, sizeof on, "TCP_REPAIR"));
  if (::bind(sk, reinterpret_cast<const sockaddr*>(&self), LengthOf(self)) != 0) return ErrnoError("bind");
  if (state == TCP_SYN_SENT) {
    CRYO_TRY(Connecting(sk, e, peer));
    held_.push_back(Held{sk, ino, {}, sndbuf, reuse, buf_lock});
    return {};
  }
  // The kernel moves the sequence numbers on as the queues are filled:
  // they start where the queued data began.
  CRYO_TRY(SetQueueSeq(sk, TCP_RECV_QUEUE, inq_seq - e.inq_len()));
  CRYO_TRY(SetQueueSeq(sk, TCP_SEND_QUEUE, outq_seq - e.outq_len()));
  if (::connect(sk, reinterpret_cast<const sockaddr*>(&peer), LengthOf(peer)) != 0) return ErrnoError("connect");
  tcp_repair_opt opts[4];
  unsigned n = 0;
  if (e.opt_mask() & TCPI_OPT_SACK) opts[n++] = {TCPOPT_SACK_PERMITTED, 0};
  if (e.opt_mask() & TCPI_OPT_WSCALE) opts[n++] = {TCPOPT_WINDOW, e.snd_wscale() + (e.rcv_wscale() << 16)};
  if (e.opt_mask() & TCPI_OPT_TIMESTAMPS) opts[n++] = {TCPOPT_TIMESTAMP, 0};
  opts[n++] = {TCPOPT_MAXSEG, e.mss_clamp()};
  CRYO_TRY(SetOpt(sk, TCP_REPAIR_OPTIONS, opts, static_cast<socklen_t>(n * sizeof opts[0]), "TCP_REPAIR_OPTIONS"));
  if (e.opt_mask() & TCPI_OPT_TIMESTAMPS) {
    uint32_t ts = e.timestamp();
    CRYO_TRY(SetOpt(sk, TCP_TIMESTAMP, &ts, sizeof ts, "TCP_TIMESTAMP"));
  }
  CRYO_TRY(SetBuffer(sk, SO_RCVBUFFORCE, Roomy(inq.size(), rcvbuf), "SO_RCVBUFFORCE"));
  CRYO_TRY(SetBuffer(sk, SO_SNDBUFFORCE, Roomy(outq.size(), sndbuf), "SO_SNDBUFFORCE"));
  int queue = TCP_RECV_QUEUE;
  CRYO_TRY(SetOpt(sk, TCP_REPAIR_QUEUE, &queue, sizeof queue, "TCP_REPAIR_QUEUE"));
  CRYO_TRY(Fill(sk, inq, "receive queue"));
  CRYO_TRY(SetBuffer(sk, SO_RCVBUFFORCE, rcvbuf, "SO_RCVBUFFORCE"));
  // What was sent and not acknowledged goes back as sent; what was never
  // sent waits for Resume, unless our FIN must follow it: then it counts
  // as sent too, and goes out when the kernel retransmits.
  size_t sent = OurFin(state) ? e.outq_len() : e.outq_len() - e.unsq_len();
  queue = TCP_SEND_QUEUE;
  CRYO_TRY(SetOpt(sk, TCP_REPAIR_QUEUE, &queue, sizeof queue, "TCP_REPAIR_QUEUE"));
  CRYO_TRY(Fill(sk, std::string_view(outq).substr(0, sent), "send queue"));
  queue = TCP_NO_QUEUE;
  CRYO_TRY(SetOpt(sk, TCP_REPAIR_QUEUE, &queue, sizeof queue, "TCP_REPAIR_QUEUE"));
  if (e.has_snd_wnd()) {
    RepairWindow w{e.snd_wl1(), e.snd_wnd(), e.max_window(), e.rcv_wnd(), e.rcv_wup()};
    // The peer's FIN is yet to arrive (below), and will move them on.
    if (TheirFin(state)) {
      w.rcv_wup--;
      w.rcv_wnd++;
    }
    CRYO_TRY(SetOpt(sk, TCP_REPAIR_WINDOW, &w, sizeof w, "TCP_REPAIR_WINDOW"));
  }
  // The FINs in the order they came: ours first, or the peer's first.
  uint16_t window = static_cast<uint16_t>(std::min<uint32_t>(e.snd_wnd() >> e.snd_wscale(), 0xffff));
  uint32_t una = outq_seq - e.outq_len();
  if (OurFinFirst(state)) CRYO_TRY_CTX(QueueOurFin(sk, OurFinAcked(state)), "our FIN");
  if (state == TCP_CLOSE) {
    // FIN_WAIT2, then the peer's FIN: TIME_WAIT, which leaves the socket closed.
    CRYO_TRY(FromPeer(self, peer, inq_seq, outq_seq + 1, window, false));
    CRYO_TRY(FromPeer(self, peer, inq_seq, outq_seq + 1, window, true));
  } else {
    if (TheirFin(state)) CRYO_TRY(FromPeer(self, peer, inq_seq, una, window, true));
    if (state == TCP_LAST_ACK) CRYO_TRY_CTX(QueueOurFin(sk, false), "our FIN");
    if (OurFinAcked(state)) CRYO_TRY(FromPeer(self, peer, inq_seq, outq_seq + 1, window, false));
  }
  int v = 1;
  if (e.nodelay()) CRYO_TRY(SetOpt(sk, TCP_NODELAY, &v, sizeof v, "TCP_NODELAY"));
  if (e.cork()) CRYO_TRY(SetOpt(sk, TCP_CORK, &v, sizeof v, "TCP_CORK"));
  held_.push_back(Held{sk, ino, outq.substr(sent), sndbuf, reuse, buf_lock});
  return {};
}

bool TcpConnections::HasStream(int dir, uint32_t ino) {
  auto r = ImageReader::Open(dir, ImageKind::kTcpStream, ino);
  return r && r->present();
}

Result<> TcpConnections::Resume() {
  for (const auto& h : held_) {
    int off = 0;
    CRYO_TRY_CTX(SetOpt(h.sk, TCP_REPAIR, &off, sizeof off, "TCP_REPAIR off"), "TCP connection {:x}", h.ino);
  }
  for (const auto& h : held_) {
    if (!h.unsent.empty()) CRYO_TRY_CTX(Fill(h.sk, h.unsent, "unsent data"), "TCP connection {:x}", h.ino);
    CRYO_TRY_CTX(SetBuffer(h.sk, SO_SNDBUFFORCE, h.sndbuf, "SO_SNDBUFFORCE"), "TCP connection {:x}", h.ino);
    // What leaving repair mode and forcing the sizes changed: SO_REUSEADDR
    // (cleared), the buffer locks (set; autotuning off).
    int reuse = h.reuse ? 1 : 0, lock = static_cast<int>(h.buf_lock);
    if (::setsockopt(h.sk, SOL_SOCKET, SO_REUSEADDR, &reuse, sizeof reuse) != 0 ||
        ::setsockopt(h.sk, SOL_SOCKET, SO_BUF_LOCK, &lock, sizeof lock) != 0)
      return ErrnoError("TCP connection {:x}: SO_REUSEADDR, SO_BUF_LOCK", h.ino);
  }
  held_.clear();
  return {};
}

}  // namespace cryo
