// The proto headers come before gtest (whose sys/wait.h defines sigmask).
#include "engine/dump/netlink_socket.h"
#include "engine/dump/inet_diag.h"
#include "engine/dump/packet_socket.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <linux/inet_diag.h>
#include <linux/netlink.h>
#include <linux/netlink_diag.h>
#include <linux/rtnetlink.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <cstring>
#include <string>

namespace cryo {
namespace {

void PutAttr(std::string& buf, uint16_t type, const void* data, size_t len) {
  rtattr a{static_cast<unsigned short>(RTA_LENGTH(len)), type};
  buf.append(reinterpret_cast<const char*>(&a), sizeof a);
  buf.append(static_cast<const char*>(data), len);
  buf.resize(NLMSG_ALIGN(buf.size()), '\0');
}

TEST(ParseInetDiag, ReadsPeerShutdownAndQueues) {
  inet_diag_msg m{};
  m.idiag_family = AF_INET;
  m.idiag_state = 7;
  m.idiag_inode = 99;
  m.id.idiag_dport = htons(8880);
  m.id.idiag_dst[0] = htonl(INADDR_LOOPBACK);
  m.idiag_rqueue = 3;
  std::string buf(reinterpret_cast<const char*>(&m), sizeof m);
  buf.resize(NLMSG_ALIGN(buf.size()), '\0');
  uint8_t shut = 3;
  PutAttr(buf, INET_DIAG_SHUTDOWN, &shut, 1);
  InetDiag d = *ParseInetDiag(buf.data(), buf.size());
  EXPECT_EQ(d.ino, 99u);
  EXPECT_EQ(d.state, 7);
  EXPECT_EQ(d.shutdown, 3);
  EXPECT_EQ(d.dst_port, 8880);
  ASSERT_EQ(d.dst.size(), 4u);
  EXPECT_EQ(static_cast<unsigned char>(d.dst[0]), 127);
  EXPECT_EQ(d.rqueue, 3u);
}

TEST(ParseInetDiag, RefusesShortOrBadReplies) {
  EXPECT_FALSE(ParseInetDiag("x", 1));
  inet_diag_msg m{};
  std::string buf(reinterpret_cast<const char*>(&m), sizeof m);
  buf.resize(NLMSG_ALIGN(buf.size()), '\0');
  rtattr a{200, INET_DIAG_SHUTDOWN};  // longer than what follows
  buf.append(reinterpret_cast<const char*>(&a), sizeof a);
  EXPECT_FALSE(ParseInetDiag(buf.data(), buf.size()));
}

TEST(ParseNetlinkDiag, ReadsGroupsAndFlags) {
  netlink_diag_msg m{};
  m.ndiag_protocol = NETLINK_KOBJECT_UEVENT;
  m.ndiag_portid = 1234;
  m.ndiag_state = 1;
  m.ndiag_dst_group = 32;
  m.ndiag_ino = 5;
  std::string buf(reinterpret_cast<const char*>(&m), sizeof m);
  buf.resize(NLMSG_ALIGN(buf.size()), '\0');
  uint32_t groups[4] = {0x80000000u, 0, 0x1, 0};  // trailing empty words drop
  PutAttr(buf, NETLINK_DIAG_GROUPS, groups, sizeof groups);
  uint32_t flags = NDIAG_FLAG_PKTINFO;
  PutAttr(buf, NETLINK_DIAG_FLAGS, &flags, sizeof flags);
  NetlinkDiag d = *ParseNetlinkDiag(buf.data(), buf.size());
  EXPECT_EQ(d.ino, 5u);
  EXPECT_EQ(d.portid, 1234u);
  EXPECT_EQ(d.dst_group, 32u);
  ASSERT_EQ(d.groups.size(), 3u);
  EXPECT_EQ(d.groups[0], 0x80000000u);
  EXPECT_EQ(d.groups[2], 1u);
  EXPECT_EQ(d.flags, static_cast<uint32_t>(NDIAG_FLAG_PKTINFO));
}

TEST(ParsePacketDiag, ReadsInfoRingsAndFanout) {
  packet_diag_msg m{};
  m.pdiag_family = AF_PACKET;
  m.pdiag_type = SOCK_DGRAM;
  m.pdiag_num = 0x0800;
  m.pdiag_ino = 11;
  std::string buf(reinterpret_cast<const char*>(&m), sizeof m);
  buf.resize(NLMSG_ALIGN(buf.size()), '\0');
  packet_diag_info info{};
  info.pdi_index = 1;
  info.pdi_reserve = 8;
  info.pdi_flags = PDI_ORIGDEV;
  PutAttr(buf, PACKET_DIAG_INFO, &info, sizeof info);
  packet_diag_ring ring{4096, 1, 1024, 4, 0, 0, 0};
  PutAttr(buf, PACKET_DIAG_TX_RING, &ring, sizeof ring);
  uint32_t fanout = 77 | (2 << 16);
  PutAttr(buf, PACKET_DIAG_FANOUT, &fanout, sizeof fanout);
  PacketDiag d = *ParsePacketDiag(buf.data(), buf.size());
  EXPECT_EQ(d.ino, 11u);
  EXPECT_EQ(d.type, SOCK_DGRAM);
  EXPECT_EQ(d.protocol, htons(0x0800));  // as socket() takes it
  EXPECT_EQ(d.info.pdi_reserve, 8u);
  EXPECT_FALSE(d.rx);
  ASSERT_TRUE(d.tx);
  EXPECT_EQ(d.tx->pdr_frame_nr, 4u);
  EXPECT_EQ(d.fanout, fanout);
}

TEST(ParsePacketDiag, WantsTheInfo) {
  packet_diag_msg m{};
  EXPECT_FALSE(ParsePacketDiag(&m, sizeof m));
}

}  // namespace
}  // namespace cryo
