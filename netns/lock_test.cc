#include "netns/lock.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <sys/socket.h>

#include "netns/in_netns.h"
#include "netns/nft.h"
#include "netns/test_util.h"

namespace cryo::netns {
namespace {

using testing::TestNetns;

// What a connect to 127.0.0.1:port from `sport` (0: any) sees within
// 300 ms: 0 connected, ECONNREFUSED (a reset), ETIMEDOUT (nothing: locked).
int Probe(uint16_t port, uint16_t sport = 0) {
  UniqueFd s(::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
  int one = 1;
  ::setsockopt(s.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (sport) {
    a.sin_port = htons(sport);
    if (::bind(s.get(), reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) return errno;
  }
  a.sin_port = htons(port);
  if (::connect(s.get(), reinterpret_cast<sockaddr*>(&a), sizeof a) == 0) return 0;
  if (errno != EINPROGRESS) return errno;
  pollfd p{s.get(), POLLOUT, 0};
  if (::poll(&p, 1, 300) == 0) return ETIMEDOUT;
  int err = 0;
  socklen_t len = sizeof err;
  ::getsockopt(s.get(), SOL_SOCKET, SO_ERROR, &err, &len);
  return err;
}

UniqueFd Listen(uint16_t port) {
  UniqueFd s(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  int one = 1;
  ::setsockopt(s.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = htons(port);
  EXPECT_EQ(::bind(s.get(), reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
  EXPECT_EQ(::listen(s.get(), 16), 0);
  return s;
}

class LockTest : public ::testing::TestWithParam<NetworkLock> {};

TEST_P(LockTest, NamespaceLockDropsEverythingUntilUnlocked) {
  TestNetns ns("lock");
  ns.In("ip link set lo up");
  auto in = NetnsSwitch::Enter(ns.fd());
  ASSERT_TRUE(in);
  Log log;
  EXPECT_EQ(Probe(7), ECONNREFUSED);
  std::string id = NewRunId();
  {
    auto lock = NetnsLock::Lock(ns.fd(), GetParam(), id, log);
    ASSERT_TRUE(lock) << lock.error().what();
    EXPECT_TRUE(lock->active());
    // No answer and no reset while locked.
    EXPECT_EQ(Probe(7), ETIMEDOUT);
    ASSERT_TRUE(lock->Unlock());
    EXPECT_EQ(Probe(7), ECONNREFUSED);
    // Locked again, then left to the destructor (an error path).
    lock = NetnsLock::Lock(ns.fd(), GetParam(), id, log);
    ASSERT_TRUE(lock);
    EXPECT_EQ(Probe(7), ETIMEDOUT);
  }
  EXPECT_EQ(Probe(7), ECONNREFUSED);
  // Kept: it outlives the object, and UnlockLeftover lifts it by name.
  {
    auto lock = NetnsLock::Lock(ns.fd(), GetParam(), id, log);
    ASSERT_TRUE(lock);
    lock->Keep();
  }
  EXPECT_EQ(Probe(7), ETIMEDOUT);
  ASSERT_TRUE(UnlockLeftover(ns.fd(), GetParam(), id, log));
  EXPECT_EQ(Probe(7), ECONNREFUSED);
  ASSERT_TRUE(UnlockLeftover(ns.fd(), GetParam(), id, log));  // none: nothing to do
}

TEST_P(LockTest, ConnectionLockDropsOnlyThoseConnections) {
  TestNetns ns("conn");
  ns.In("ip link set lo up");
  auto in = NetnsSwitch::Enter(ns.fd());
  ASSERT_TRUE(in);
  Log log;
  UniqueFd l = Listen(7000);
  Connection c;
  c.family = AF_INET;
  c.src[0] = htonl(INADDR_LOOPBACK);
  c.dst[0] = htonl(INADDR_LOOPBACK);
  c.sport = 41000;
  c.dport = 7000;
  std::string id = NewRunId();
  ASSERT_TRUE(LockConnections(GetParam(), id, {&c, 1}, log));
  EXPECT_EQ(Probe(7000, 41000), ETIMEDOUT);
  EXPECT_EQ(Probe(7000, 41001), 0);
  // A second batch adds up.
  Connection d = c;
  d.sport = 41002;
  ASSERT_TRUE(LockConnections(GetParam(), id, {&d, 1}, log));
  EXPECT_EQ(Probe(7000, 41002), ETIMEDOUT);
  ASSERT_TRUE(UnlockConnections(GetParam(), id, log));
  EXPECT_EQ(Probe(7000, 41003), 0);
  ASSERT_TRUE(UnlockConnections(GetParam(), id, log));
}

INSTANTIATE_TEST_SUITE_P(Methods, LockTest, ::testing::Values(NetworkLock::kNftables, NetworkLock::kIptables),
                         [](const auto& p) { return p.param == NetworkLock::kNftables ? "nftables" : "iptables"; });

// A table of the same name that cryo did not make: the lock fails and
// the table stays as it was.
TEST(Lock, NeverTouchesATableItDidNotMake) {
  TestNetns ns("clash");
  Log log;
  std::string id = NewRunId();
  ns.In("nft add table inet " + LockTableName(id) + " && nft add chain inet " + LockTableName(id) + " mine");
  auto lock = NetnsLock::Lock(ns.fd(), NetworkLock::kNftables, id, log);
  EXPECT_FALSE(lock);
  EXPECT_NE(ns.In("nft list table inet " + LockTableName(id)).find("chain mine"), std::string::npos);
  // A lock of another run leaves it too.
  std::string other = NewRunId();
  auto l2 = NetnsLock::Lock(ns.fd(), NetworkLock::kNftables, other, log);
  ASSERT_TRUE(l2);
  ASSERT_TRUE(l2->Unlock());
  EXPECT_NE(ns.In("nft list tables").find(LockTableName(id)), std::string::npos);
  EXPECT_EQ(ns.In("nft list tables").find(LockTableName(other)), std::string::npos);
}

TEST(Lock, SkipDoesNothing) {
  TestNetns ns("skip");
  Log log;
  auto lock = NetnsLock::Lock(ns.fd(), NetworkLock::kSkip, NewRunId(), log);
  ASSERT_TRUE(lock);
  EXPECT_FALSE(lock->active());
  EXPECT_EQ(ns.In("nft list tables"), "");
}

}  // namespace
}  // namespace cryo::netns
