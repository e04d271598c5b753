#include "engine/dump/tcp_stream.h"

#include <linux/sockios.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/ioctl.h>
#include <sys/socket.h>

namespace cryo {
namespace {

// struct tcp_repair_window of linux/tcp.h (which clashes with glibc's
// netinet/tcp.h).
struct RepairWindow {
  uint32_t snd_wl1, snd_wnd, max_window, rcv_wnd, rcv_wup;
};

// A FIN sent is counted in the send queue's length but carries no data.
bool FinInSendQueue(int state) {
  return state == TCP_FIN_WAIT1 || state == TCP_FIN_WAIT2 || state == TCP_CLOSING || state == TCP_LAST_ACK;
}

Result<int> QueueLength(int sk, unsigned long req, const char* what) {
  int n = 0;
  if (::ioctl(sk, req, &n) != 0) return ErrnoError("{}", what);
  return n;
}

// The queue's sequence number and its bytes, peeked: `len` of them, and
// not one more (a byte more would mean the length changed under us).
Result<std::string> ReadQueue(int sk, int queue, uint32_t len, uint32_t* seq) {
  if (::setsockopt(sk, SOL_TCP, TCP_REPAIR_QUEUE, &queue, sizeof queue) != 0)
    return ErrnoError("TCP_REPAIR_QUEUE {}", queue);
  socklen_t l = sizeof *seq;
  if (::getsockopt(sk, SOL_TCP, TCP_QUEUE_SEQ, seq, &l) != 0) return ErrnoError("TCP_QUEUE_SEQ of queue {}", queue);
  std::string data(len + 1, '\0');
  if (len > 0) {
    ssize_t n = ::recv(sk, data.data(), data.size(), MSG_PEEK | MSG_DONTWAIT);
    if (n != static_cast<ssize_t>(len))
      return ErrnoError("peek queue {}: {} bytes, {} expected", queue, n, len);
  }
  data.resize(len);
  return data;
}

}  // namespace

Result<> SetTcpRepair(int sk, int on) {
  if (::setsockopt(sk, SOL_TCP, TCP_REPAIR, &on, sizeof on) != 0) return ErrnoError("TCP_REPAIR {}", on);
  return {};
}

Result<TcpStream> ReadTcpStream(int sk) {
  TcpStream s;
  auto& e = s.entry;
  tcp_info ti{};
  socklen_t l = sizeof ti;
  if (::getsockopt(sk, SOL_TCP, TCP_INFO, &ti, &l) != 0) return ErrnoError("TCP_INFO");
  // Now, locked and in repair mode: a FIN that came after the first look
  // is counted here.
  int state = s.state = ti.tcpi_state;
  uint32_t outq = static_cast<uint32_t>(CRYO_TRY(QueueLength(sk, SIOCOUTQ, "SIOCOUTQ")));
  uint32_t unsent = static_cast<uint32_t>(CRYO_TRY(QueueLength(sk, SIOCOUTQNSD, "SIOCOUTQNSD")));
  uint32_t inq = static_cast<uint32_t>(CRYO_TRY(QueueLength(sk, SIOCINQ, "SIOCINQ")));
  // A connection that ended (reset, or both FINs acknowledged): what it
  // had yet to send is gone for good; what it received may still be read.
  if (state == TCP_CLOSE) outq = unsent = 0;
  if (FinInSendQueue(state)) {
    if (outq > 0) outq--;
    if (unsent > 0) unsent--;
  }
  int mss = 0;
  l = sizeof mss;
  if (::getsockopt(sk, SOL_TCP, TCP_MAXSEG, &mss, &l) != 0) return ErrnoError("TCP_MAXSEG");
  e.set_mss_clamp(static_cast<uint32_t>(mss));
  e.set_opt_mask(ti.tcpi_options);
  e.set_snd_wscale(0);
  if (ti.tcpi_options & TCPI_OPT_WSCALE) {
    e.set_snd_wscale(ti.tcpi_snd_wscale);
    e.set_rcv_wscale(ti.tcpi_rcv_wscale);
  }
  if (ti.tcpi_options & TCPI_OPT_TIMESTAMPS) {
    uint32_t ts = 0;
    l = sizeof ts;
    if (::getsockopt(sk, SOL_TCP, TCP_TIMESTAMP, &ts, &l) != 0) return ErrnoError("TCP_TIMESTAMP");
    e.set_timestamp(ts);
  }
  RepairWindow w{};
  l = sizeof w;
  if (::getsockopt(sk, SOL_TCP, TCP_REPAIR_WINDOW, &w, &l) != 0) return ErrnoError("TCP_REPAIR_WINDOW");
  e.set_snd_wl1(w.snd_wl1);
  e.set_snd_wnd(w.snd_wnd);
  e.set_max_window(w.max_window);
  e.set_rcv_wnd(w.rcv_wnd);
  e.set_rcv_wup(w.rcv_wup);
  uint32_t seq = 0;
  s.inq = CRYO_TRY_CTX(ReadQueue(sk, TCP_RECV_QUEUE, inq, &seq), "receive queue");
  e.set_inq_len(inq);
  e.set_inq_seq(seq);
  s.outq = CRYO_TRY_CTX(ReadQueue(sk, TCP_SEND_QUEUE, outq, &seq), "send queue");
  e.set_outq_len(outq);
  e.set_outq_seq(seq);
  e.set_unsq_len(unsent);
  int none = TCP_NO_QUEUE;
  ::setsockopt(sk, SOL_TCP, TCP_REPAIR_QUEUE, &none, sizeof none);
  int v = 0;
  l = sizeof v;
  if (::getsockopt(sk, SOL_TCP, TCP_NODELAY, &v, &l) == 0 && v) e.set_nodelay(true);
  l = sizeof v;
  if (::getsockopt(sk, SOL_TCP, TCP_CORK, &v, &l) == 0 && v) e.set_cork(true);
  return s;
}

}  // namespace cryo
