#include "engine/restore/socket_opts.h"

#include <linux/filter.h>
#include <sys/socket.h>
#include <sys/time.h>

#include <cstring>
#include <vector>

namespace cryo {
namespace {

Result<> SetInt(int sk, int name, int v, const char* what, uint32_t id) {
  if (::setsockopt(sk, SOL_SOCKET, name, &v, sizeof v) != 0) return ErrnoError("socket {}: {} {}", id, what, v);
  return {};
}

}  // namespace

Result<> ApplySocketOpts(int sk, const img::sk_opts_entry& o, uint32_t id, bool inet) {
  // The kernel doubles what it is given; the image holds what it reported.
  int snd = static_cast<int>(o.so_sndbuf() / 2), rcv = static_cast<int>(o.so_rcvbuf() / 2);
  if (snd > 0) CRYO_TRY(SetInt(sk, SO_SNDBUFFORCE, snd, "SO_SNDBUFFORCE", id));
  if (rcv > 0) CRYO_TRY(SetInt(sk, SO_RCVBUFFORCE, rcv, "SO_RCVBUFFORCE", id));
  // Forcing the sizes locks them; an IP socket's locks go back to what
  // they were (autotuning where the program left it on).
  if (inet) CRYO_TRY(SetInt(sk, SO_BUF_LOCK, static_cast<int>(o.so_buf_lock()), "SO_BUF_LOCK", id));
  timeval st{static_cast<time_t>(o.so_snd_tmo_sec()), static_cast<suseconds_t>(o.so_snd_tmo_usec())};
  timeval rt{static_cast<time_t>(o.so_rcv_tmo_sec()), static_cast<suseconds_t>(o.so_rcv_tmo_usec())};
  if (::setsockopt(sk, SOL_SOCKET, SO_SNDTIMEO, &st, sizeof st) != 0) return ErrnoError("socket {}: SO_SNDTIMEO", id);
  if (::setsockopt(sk, SOL_SOCKET, SO_RCVTIMEO, &rt, sizeof rt) != 0) return ErrnoError("socket {}: SO_RCVTIMEO", id);
  if (o.so_passcred()) CRYO_TRY(SetInt(sk, SO_PASSCRED, 1, "SO_PASSCRED", id));
  if (o.so_passsec()) CRYO_TRY(SetInt(sk, SO_PASSSEC, 1, "SO_PASSSEC", id));
  if (o.so_reuseport()) CRYO_TRY(SetInt(sk, SO_REUSEPORT, 1, "SO_REUSEPORT", id));
  if (o.so_broadcast()) CRYO_TRY(SetInt(sk, SO_BROADCAST, 1, "SO_BROADCAST", id));
  if (o.so_keepalive()) CRYO_TRY(SetInt(sk, SO_KEEPALIVE, 1, "SO_KEEPALIVE", id));
  if (o.so_dontroute()) CRYO_TRY(SetInt(sk, SO_DONTROUTE, 1, "SO_DONTROUTE", id));
  if (o.so_no_check()) CRYO_TRY(SetInt(sk, SO_NO_CHECK, 1, "SO_NO_CHECK", id));
  if (o.so_oobinline()) CRYO_TRY(SetInt(sk, SO_OOBINLINE, 1, "SO_OOBINLINE", id));
  if (o.has_so_priority()) CRYO_TRY(SetInt(sk, SO_PRIORITY, static_cast<int>(o.so_priority()), "SO_PRIORITY", id));
  if (o.has_so_rcvlowat()) CRYO_TRY(SetInt(sk, SO_RCVLOWAT, static_cast<int>(o.so_rcvlowat()), "SO_RCVLOWAT", id));
  if (o.has_so_mark()) CRYO_TRY(SetInt(sk, SO_MARK, static_cast<int>(o.so_mark()), "SO_MARK", id));
  if (o.has_so_linger()) {
    linger lg{1, static_cast<int>(o.so_linger())};
    if (::setsockopt(sk, SOL_SOCKET, SO_LINGER, &lg, sizeof lg) != 0) return ErrnoError("socket {}: SO_LINGER", id);
  }
  if (o.has_so_bound_dev()) {
    const std::string& dev = o.so_bound_dev();
    if (::setsockopt(sk, SOL_SOCKET, SO_BINDTODEVICE, dev.c_str(), static_cast<socklen_t>(dev.size())) != 0)
      return ErrnoError("socket {}: SO_BINDTODEVICE {}", id, dev);
  }
  if (o.so_filter_size() > BPF_MAXINSNS) return MakeError(EINVAL, "socket {}: a filter of {} instructions", id, o.so_filter_size());
  if (o.so_filter_size() > 0) {
    std::vector<sock_filter> prog(static_cast<size_t>(o.so_filter_size()));
    for (size_t i = 0; i < prog.size(); i++) {
      uint64_t w = o.so_filter(static_cast<int>(i));
      std::memcpy(&prog[i], &w, sizeof w);
    }
    sock_fprog f{static_cast<unsigned short>(prog.size()), prog.data()};
    if (::setsockopt(sk, SOL_SOCKET, SO_ATTACH_FILTER, &f, sizeof f) != 0)
      return ErrnoError("socket {}: SO_ATTACH_FILTER ({} instructions)", id, prog.size());
  }
  return {};
}

}  // namespace cryo
