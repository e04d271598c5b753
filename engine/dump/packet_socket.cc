#include "engine/dump/packet_socket.h"

#include <arpa/inet.h>
#include <linux/if_packet.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <linux/sock_diag.h>
#include <sys/socket.h>

#include <cstring>

#include "engine/base/unique_fd.h"
#include "engine/dump/file_table.h"
#include "engine/dump/sock_diag.h"
#include "engine/dump/socket_opts.h"

namespace cryo {
namespace {

Result<std::map<uint32_t, PacketDiag>> ListPacketSockets(pid_t netns_of) {
  UniqueFd nl = CRYO_TRY(SockDiagSocket(netns_of));
  struct {
    nlmsghdr h;
    packet_diag_req r;
  } req{};
  req.h.nlmsg_len = sizeof req;
  req.h.nlmsg_type = SOCK_DIAG_BY_FAMILY;
  req.h.nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
  req.h.nlmsg_seq = 1;
  req.r.sdiag_family = AF_PACKET;
  req.r.pdiag_show = PACKET_SHOW_INFO | PACKET_SHOW_MCLIST | PACKET_SHOW_RING_CFG | PACKET_SHOW_FANOUT;
  std::map<uint32_t, PacketDiag> out;
  CRYO_TRY(SockDiagDump(nl.get(), std::string_view(reinterpret_cast<const char*>(&req), sizeof req), "packet sockets",
                        [&](const void* data, size_t len) -> Result<> {
                          PacketDiag d = CRYO_TRY(ParsePacketDiag(data, len));
                          out[d.ino] = std::move(d);
                          return {};
                        }));
  return out;
}

void PutRing(const packet_diag_ring& r, img::packet_ring* out) {
  out->set_block_size(r.pdr_block_size);
  out->set_block_nr(r.pdr_block_nr);
  out->set_frame_size(r.pdr_frame_size);
  out->set_frame_nr(r.pdr_frame_nr);
  out->set_retire_tmo(r.pdr_retire_tmo);
  out->set_sizeof_priv(r.pdr_sizeof_priv);
  out->set_features(r.pdr_features);
}

}  // namespace

Result<PacketDiag> ParsePacketDiag(const void* data, size_t len) {
  if (len < sizeof(packet_diag_msg)) return MakeError(EBADMSG, "packet diag reply of {} bytes", len);
  packet_diag_msg m;
  std::memcpy(&m, data, sizeof m);
  PacketDiag d;
  d.ino = m.pdiag_ino;
  d.type = m.pdiag_type;
  d.protocol = htons(m.pdiag_num);  // diag says it in host order
  bool info = false;
  size_t off = NLMSG_ALIGN(sizeof(packet_diag_msg));
  const auto* base = static_cast<const unsigned char*>(data);
  while (off + sizeof(rtattr) <= len) {
    rtattr a;
    std::memcpy(&a, base + off, sizeof a);
    if (a.rta_len < sizeof(rtattr) || off + a.rta_len > len) return MakeError(EBADMSG, "packet diag: bad attribute");
    const unsigned char* p = base + off + RTA_LENGTH(0);
    size_t n = a.rta_len - RTA_LENGTH(0);
    switch (a.rta_type) {
      case PACKET_DIAG_INFO:
        if (n < sizeof d.info) return MakeError(EBADMSG, "packet diag: short info");
        std::memcpy(&d.info, p, sizeof d.info);
        info = true;
        break;
      case PACKET_DIAG_MCLIST:
        d.mclist.resize(n / sizeof(packet_diag_mclist));
        std::memcpy(d.mclist.data(), p, d.mclist.size() * sizeof(packet_diag_mclist));
        break;
      case PACKET_DIAG_RX_RING:
      case PACKET_DIAG_TX_RING: {
        packet_diag_ring r{};
        if (n < sizeof r) return MakeError(EBADMSG, "packet diag: short ring");
        std::memcpy(&r, p, sizeof r);
        (a.rta_type == PACKET_DIAG_RX_RING ? d.rx : d.tx) = r;
        break;
      }
      case PACKET_DIAG_FANOUT:
        if (n >= 4) {
          uint32_t f;
          std::memcpy(&f, p, 4);
          d.fanout = f;
        }
        break;
      default: break;
    }
    off += RTA_ALIGN(a.rta_len);
  }
  if (!info) return MakeError(EBADMSG, "packet diag: socket {} without its info", d.ino);
  return d;
}

Result<img::file_entry> PacketSockets::Dump(pid_t pid, int fd, int sk, uint32_t id, uint32_t ino, uint32_t flags) {
  if (!listed_) listed_ = CRYO_TRY_CTX(ListPacketSockets(netns_of_), "pid {}: packet sockets", pid);
  auto it = listed_->find(ino);
  if (it == listed_->end())
    return MakeError(ENOTSUP, "pid {} fd {}: a packet socket of another network namespace: not supported", pid, fd);
  const PacketDiag& d = it->second;
  img::file_entry fe;
  fe.set_type(img::PACKETSK);
  fe.set_id(id);
  auto* e = fe.mutable_psk();
  e->set_id(id);
  e->set_type(d.type);
  e->set_protocol(d.protocol);
  e->set_flags(flags);
  e->set_ifindex(d.info.pdi_index);
  NoOwner(e->mutable_fown());
  // The generic options, a BPF filter (tcpdump's) among them.
  CRYO_TRY_CTX(ReadSocketOpts(sk, e->mutable_opts(), true), "pid {} fd {}", pid, fd);
  e->set_version(d.info.pdi_version);
  e->set_reserve(d.info.pdi_reserve);
  e->set_aux_data(d.info.pdi_flags & PDI_AUXDATA);
  e->set_orig_dev(d.info.pdi_flags & PDI_ORIGDEV);
  e->set_vnet_hdr(d.info.pdi_flags & PDI_VNETHDR);
  e->set_loss(d.info.pdi_flags & PDI_LOSS);
  e->set_timestamp(d.info.pdi_tstamp);
  e->set_copy_thresh(d.info.pdi_copy_thresh);
  for (const auto& m : d.mclist) {
    if (m.pdmc_alen > sizeof m.pdmc_addr)
      return MakeError(EINVAL, "pid {} fd {}: packet membership address of {} bytes", pid, fd, m.pdmc_alen);
    // Added `count` times, dropped as often: one entry each.
    for (uint32_t i = 0; i < std::max<uint32_t>(m.pdmc_count, 1); i++) {
      auto* l = e->add_mclist();
      l->set_index(m.pdmc_index);
      l->set_type(m.pdmc_type);
      l->set_addr(std::string(reinterpret_cast<const char*>(m.pdmc_addr), m.pdmc_alen));
    }
  }
  if (d.fanout) e->set_fanout(*d.fanout);
  if (d.rx) PutRing(*d.rx, e->mutable_rx_ring());
  if (d.tx) PutRing(*d.tx, e->mutable_tx_ring());
  return fe;
}

}  // namespace cryo
