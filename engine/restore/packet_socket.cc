#include "engine/restore/packet_socket.h"

#include <fcntl.h>
#include <linux/if_packet.h>
#include <net/if.h>
#include <sys/ioctl.h>
#include <sys/socket.h>

#include <cstring>

#include "engine/restore/socket_opts.h"

namespace cryo {
namespace {

Result<> SetInt(int sk, int name, int v, const char* what, uint32_t id) {
  if (::setsockopt(sk, SOL_PACKET, name, &v, sizeof v) != 0) return ErrnoError("packet socket {}: {} {}", id, what, v);
  return {};
}

// A SOCK_PACKET socket binds by the interface's name.
Result<> BindSpkt(int sk, uint32_t ifindex, uint32_t id) {
  char name[IF_NAMESIZE] = {};
  if (!::if_indextoname(ifindex, name)) return ErrnoError("packet socket {}: interface {}", id, ifindex);
  sockaddr a{};
  a.sa_family = AF_PACKET;
  size_t n = std::strlen(name);
  if (n >= sizeof a.sa_data) return MakeError(ENAMETOOLONG, "packet socket {}: interface name {}", id, name);
  std::memcpy(a.sa_data, name, n);
  if (::bind(sk, &a, sizeof a) != 0) return ErrnoError("packet socket {}: bind to {}", id, name);
  return {};
}

Result<> SetRing(int sk, int name, const img::packet_ring& r, uint32_t id) {
  tpacket_req3 req{r.block_size(), r.block_nr(), r.frame_size(), r.frame_nr(), r.retire_tmo(), r.sizeof_priv(),
                   r.features()};
  if (::setsockopt(sk, SOL_PACKET, name, &req, sizeof req) != 0)
    return ErrnoError("packet socket {}: {} ring of {} blocks of {}", id, name == PACKET_RX_RING ? "RX" : "TX",
                      r.block_nr(), r.block_size());
  return {};
}

Result<> SetPacketOpts(int sk, const img::packet_sock_entry& e, uint32_t id) {
  CRYO_TRY(SetInt(sk, PACKET_VERSION, static_cast<int>(e.version()), "PACKET_VERSION", id));
  CRYO_TRY(SetInt(sk, PACKET_RESERVE, static_cast<int>(e.reserve()), "PACKET_RESERVE", id));
  CRYO_TRY(SetInt(sk, PACKET_TIMESTAMP, static_cast<int>(e.timestamp()), "PACKET_TIMESTAMP", id));
  CRYO_TRY(SetInt(sk, PACKET_COPY_THRESH, static_cast<int>(e.copy_thresh()), "PACKET_COPY_THRESH", id));
  if (e.aux_data()) CRYO_TRY(SetInt(sk, PACKET_AUXDATA, 1, "PACKET_AUXDATA", id));
  if (e.orig_dev()) CRYO_TRY(SetInt(sk, PACKET_ORIGDEV, 1, "PACKET_ORIGDEV", id));
  if (e.vnet_hdr()) CRYO_TRY(SetInt(sk, PACKET_VNET_HDR, 1, "PACKET_VNET_HDR", id));
  if (e.loss()) CRYO_TRY(SetInt(sk, PACKET_LOSS, 1, "PACKET_LOSS", id));
  for (const auto& m : e.mclist()) {
    struct {
      int ifindex;
      unsigned short type, alen;
      unsigned char address[32];
    } mreq{};
    if (m.addr().size() > sizeof mreq.address)
      return MakeError(EINVAL, "packet socket {}: membership address of {} bytes", id, m.addr().size());
    mreq.ifindex = static_cast<int>(m.index());
    mreq.type = static_cast<unsigned short>(m.type());
    mreq.alen = static_cast<unsigned short>(m.addr().size());
    std::memcpy(mreq.address, m.addr().data(), m.addr().size());
    if (::setsockopt(sk, SOL_PACKET, PACKET_ADD_MEMBERSHIP, &mreq, sizeof mreq) != 0)
      return ErrnoError("packet socket {}: membership of type {} on interface {}", id, m.type(), m.index());
  }
  if (e.has_fanout() && e.fanout() != 0xffffffffu)
    CRYO_TRY(SetInt(sk, PACKET_FANOUT, static_cast<int>(e.fanout()), "PACKET_FANOUT", id));
  if (e.has_rx_ring()) CRYO_TRY(SetRing(sk, PACKET_RX_RING, e.rx_ring(), id));
  if (e.has_tx_ring()) CRYO_TRY(SetRing(sk, PACKET_TX_RING, e.tx_ring(), id));
  return {};
}

Result<UniqueFd> Create(uint32_t id, const img::packet_sock_entry& e) {
  UniqueFd sk(::socket(AF_PACKET, static_cast<int>(e.type()) | SOCK_CLOEXEC, static_cast<int>(e.protocol())));
  if (!sk) return ErrnoError("packet socket {}: socket(type {}, protocol {:#x})", id, e.type(), e.protocol());
  CRYO_TRY(ApplySocketOpts(sk.get(), e.opts(), id, true));
  if (e.type() == SOCK_PACKET) {
    if (e.ifindex() > 0) CRYO_TRY(BindSpkt(sk.get(), e.ifindex(), id));
  } else {
    // Bound to its interface (0: all of them), its protocol kept.
    sockaddr_ll a{};
    a.sll_family = AF_PACKET;
    a.sll_ifindex = static_cast<int>(e.ifindex());
    if (::bind(sk.get(), reinterpret_cast<sockaddr*>(&a), sizeof a) != 0)
      return ErrnoError("packet socket {}: bind to interface {}", id, e.ifindex());
    CRYO_TRY(SetPacketOpts(sk.get(), e, id));
  }
  constexpr uint32_t kStatus = O_NONBLOCK | O_ASYNC;
  if (::fcntl(sk.get(), F_SETFL, e.flags() & kStatus) != 0) return ErrnoError("packet socket {}: flags", id);
  return sk;
}

}  // namespace

Result<> CreatePacketSockets(const ImageSet& s, std::map<uint32_t, UniqueFd>& out) {
  for (const auto& [id, e] : s.packet_sks) out[id] = CRYO_TRY(Create(id, e));
  return {};
}

}  // namespace cryo
