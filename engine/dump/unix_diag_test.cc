#include "engine/dump/unix_diag.h"
#include "engine/image/unix_name.h"

#include <gtest/gtest.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <linux/unix_diag.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstring>

namespace cryo {
namespace {

void PutAttr(std::string& buf, uint16_t type, const void* data, size_t len) {
  rtattr a{static_cast<unsigned short>(RTA_LENGTH(len)), type};
  buf.append(reinterpret_cast<const char*>(&a), sizeof a);
  buf.append(static_cast<const char*>(data), len);
  buf.resize(NLMSG_ALIGN(buf.size()), '\0');
}

TEST(ParseUnixDiag, ReadsTheAttributes) {
  unix_diag_msg m{};
  m.udiag_family = AF_UNIX;
  m.udiag_type = SOCK_STREAM;
  m.udiag_state = 10;
  m.udiag_ino = 4242;
  std::string buf(reinterpret_cast<const char*>(&m), sizeof m);
  buf.resize(NLMSG_ALIGN(buf.size()), '\0');
  const char name[] = "\0abstract";
  PutAttr(buf, UNIX_DIAG_NAME, name, sizeof name - 1);
  uint32_t peer = 77;
  PutAttr(buf, UNIX_DIAG_PEER, &peer, sizeof peer);
  uint32_t icons[] = {5, 6};
  PutAttr(buf, UNIX_DIAG_ICONS, icons, sizeof icons);
  uint32_t rq[] = {2, 128};
  PutAttr(buf, UNIX_DIAG_RQLEN, rq, sizeof rq);
  uint8_t shut = 3;
  PutAttr(buf, UNIX_DIAG_SHUTDOWN, &shut, 1);
  auto d = ParseUnixDiag(buf.data(), buf.size());
  ASSERT_TRUE(d) << d.error().what();
  EXPECT_EQ(d->ino, 4242u);
  EXPECT_EQ(d->type, SOCK_STREAM);
  EXPECT_EQ(d->state, 10);
  EXPECT_EQ(d->name, std::string("\0abstract", 9));
  EXPECT_EQ(d->peer, 77u);
  EXPECT_EQ(d->icons, (std::vector<uint32_t>{5, 6}));
  EXPECT_EQ(d->rqueue, 2u);
  EXPECT_EQ(d->wqueue, 128u);
  EXPECT_EQ(d->shutdown, 3);
}

TEST(ParseUnixDiag, RefusesTruncatedInput) {
  unix_diag_msg m{};
  std::string buf(reinterpret_cast<const char*>(&m), sizeof m);
  EXPECT_FALSE(ParseUnixDiag(buf.data(), 4));
  rtattr a{200, UNIX_DIAG_NAME};  // longer than what follows
  buf.resize(NLMSG_ALIGN(buf.size()), '\0');
  buf.append(reinterpret_cast<const char*>(&a), sizeof a);
  EXPECT_FALSE(ParseUnixDiag(buf.data(), buf.size()));
}

// The kernel's own list: a socketpair made here is in it, each end the
// other's peer.
TEST(ListUnixSockets, SeesASocketpairAndItsPeers) {
  int sv[2];
  ASSERT_EQ(::socketpair(AF_UNIX, SOCK_DGRAM, 0, sv), 0);
  struct stat a, b;
  ASSERT_EQ(::fstat(sv[0], &a), 0);
  ASSERT_EQ(::fstat(sv[1], &b), 0);
  ASSERT_EQ(::send(sv[1], "hello", 5, 0), 5);
  auto all = ListUnixSockets();
  ASSERT_TRUE(all) << all.error().what();
  auto ia = all->find(static_cast<uint32_t>(a.st_ino));
  ASSERT_NE(ia, all->end());
  EXPECT_EQ(ia->second.peer, static_cast<uint32_t>(b.st_ino));
  EXPECT_EQ(ia->second.type, SOCK_DGRAM);
  EXPECT_EQ(ia->second.rqueue, 5u);
  ::close(sv[0]);
  ::close(sv[1]);
}

TEST(PrintableUnixName, AbstractNamesWithAnAtPathsWithoutTheirNul) {
  using namespace std::string_literals;
  EXPECT_EQ(PrintableUnixName("\0srv\0x"s), "@srv@x");
  EXPECT_EQ(PrintableUnixName("dir/sock\0"s), "dir/sock");
  EXPECT_EQ(PrintableUnixName("/run/a.sock"), "/run/a.sock");
  EXPECT_EQ(UnixPath("rel.sock\0\0"s), "rel.sock");
}

}  // namespace
}  // namespace cryo
