#include "engine/dump/socket_opts.h"

#include <linux/filter.h>
#include <net/if.h>
#include <sys/socket.h>
#include <sys/time.h>

#include <cstring>
#include <vector>

namespace cryo {
namespace {

Result<int> GetInt(int sk, int name) {
  int v = 0;
  socklen_t l = sizeof v;
  if (::getsockopt(sk, SOL_SOCKET, name, &v, &l) != 0) return ErrnoError("getsockopt SOL_SOCKET {}", name);
  return v;
}

Result<timeval> GetTime(int sk, int name) {
  timeval tv{};
  socklen_t l = sizeof tv;
  if (::getsockopt(sk, SOL_SOCKET, name, &tv, &l) != 0) return ErrnoError("getsockopt SOL_SOCKET {}", name);
  return tv;
}

}  // namespace

Result<> ReadSocketOpts(int sk, img::sk_opts_entry* o, bool inet) {
  o->set_so_sndbuf(static_cast<uint32_t>(CRYO_TRY(GetInt(sk, SO_SNDBUF))));
  o->set_so_rcvbuf(static_cast<uint32_t>(CRYO_TRY(GetInt(sk, SO_RCVBUF))));
  timeval snd = CRYO_TRY(GetTime(sk, SO_SNDTIMEO)), rcv = CRYO_TRY(GetTime(sk, SO_RCVTIMEO));
  o->set_so_snd_tmo_sec(static_cast<uint64_t>(snd.tv_sec));
  o->set_so_snd_tmo_usec(static_cast<uint64_t>(snd.tv_usec));
  o->set_so_rcv_tmo_sec(static_cast<uint64_t>(rcv.tv_sec));
  o->set_so_rcv_tmo_usec(static_cast<uint64_t>(rcv.tv_usec));
  // Credentials and security contexts ride unix (and netlink) sockets only.
  if (!inet) {
    if (CRYO_TRY(GetInt(sk, SO_PASSCRED))) o->set_so_passcred(true);
    if (CRYO_TRY(GetInt(sk, SO_PASSSEC))) o->set_so_passsec(true);
    return {};
  }
  // Only what differs from a new socket's defaults goes in the image.
  // Buffer sizes the program set itself (no autotuning then).
  if (int v = CRYO_TRY(GetInt(sk, SO_BUF_LOCK)); v != 0) o->set_so_buf_lock(static_cast<uint32_t>(v));
  if (CRYO_TRY(GetInt(sk, SO_REUSEADDR))) o->set_reuseaddr(true);
  if (CRYO_TRY(GetInt(sk, SO_REUSEPORT))) o->set_so_reuseport(true);
  if (CRYO_TRY(GetInt(sk, SO_BROADCAST))) o->set_so_broadcast(true);
  if (CRYO_TRY(GetInt(sk, SO_KEEPALIVE))) o->set_so_keepalive(true);
  if (CRYO_TRY(GetInt(sk, SO_DONTROUTE))) o->set_so_dontroute(true);
  if (CRYO_TRY(GetInt(sk, SO_NO_CHECK))) o->set_so_no_check(true);
  if (int v = CRYO_TRY(GetInt(sk, SO_OOBINLINE)); v != 0) o->set_so_oobinline(1);
  if (int v = CRYO_TRY(GetInt(sk, SO_PRIORITY)); v != 0) o->set_so_priority(static_cast<uint32_t>(v));
  if (int v = CRYO_TRY(GetInt(sk, SO_RCVLOWAT)); v != 1) o->set_so_rcvlowat(static_cast<uint32_t>(v));
  if (int v = CRYO_TRY(GetInt(sk, SO_MARK)); v != 0) o->set_so_mark(static_cast<uint32_t>(v));
  linger lg{};
  socklen_t l = sizeof lg;
  if (::getsockopt(sk, SOL_SOCKET, SO_LINGER, &lg, &l) != 0) return ErrnoError("getsockopt SO_LINGER");
  if (lg.l_onoff) o->set_so_linger(static_cast<uint32_t>(lg.l_linger));
  char dev[IFNAMSIZ + 1] = {};
  l = IFNAMSIZ;
  if (::getsockopt(sk, SOL_SOCKET, SO_BINDTODEVICE, dev, &l) != 0) return ErrnoError("getsockopt SO_BINDTODEVICE");
  if (l > 0 && dev[0] != '\0') o->set_so_bound_dev(std::string(dev, ::strnlen(dev, l)));
  // A classic BPF filter: SO_GET_FILTER with no room tells its length in
  // instructions, then gives them.
  socklen_t n = 0;
  if (::getsockopt(sk, SOL_SOCKET, SO_GET_FILTER, nullptr, &n) != 0) return ErrnoError("getsockopt SO_GET_FILTER");
  if (n > 0) {
    std::vector<sock_filter> prog(n);
    socklen_t got = n;
    if (::getsockopt(sk, SOL_SOCKET, SO_GET_FILTER, prog.data(), &got) != 0 || got != n)
      return ErrnoError("getsockopt SO_GET_FILTER ({} instructions)", n);
    for (const auto& ins : prog) {
      uint64_t w;
      static_assert(sizeof ins == sizeof w);
      std::memcpy(&w, &ins, sizeof w);
      o->add_so_filter(w);
    }
  }
  return {};
}

}  // namespace cryo
