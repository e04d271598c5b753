// A namespace with veths (one peer outside, a pair inside), bridges (one
// empty), a macvlan, addresses, routes in two tables, rules, sysctls,
// iptables and nftables rules: dumped, restored into a fresh namespace,
// and listed the same way by iproute2, nft and iptables-save.
#include "netns/netns.h"

#include <gtest/gtest.h>

#include <regex>

#include "engine/image/image_type.h"
#include "netns/test_util.h"

namespace cryo::netns {
namespace {

using testing::Sh;
using testing::ShStatus;
using testing::TempDir;
using testing::TestNetns;

constexpr uint32_t kId = 3;

// What may differ between two namespaces with the same state: timers,
// counters, lifetimes, the peer's index and netns id.
std::string Norm(std::string s) {
  static const std::regex kRules[] = {
      std::regex(R"(\b\w*_timer\s+[0-9.]+)"),
      std::regex(R"(@if\d+)"),
      std::regex(R"(link-netns(id)? \S+)"),
      std::regex(R"(packets \d+ bytes \d+)"),
      std::regex(R"(\[\d+:\d+\])"),
      std::regex(R"(valid_lft \S+ preferred_lft \S+)"),
      std::regex(R"( tentative)"),
      std::regex(R"(expires \S+)"),
      std::regex(R"(# (Generated|Completed)[^\n]*)"),
      std::regex(R"(\bhoplimit \d+)"),
      // An empty bridge's id is 0 until it has a port; cryo sets its address.
      std::regex(R"((bridge_id|designated_root) \S+)"),
  };
  for (const auto& r : kRules) s = std::regex_replace(s, r, "~");
  return s;
}

// The state, as the tools print it (not what they complain about: ip
// reports a veth peer's namespace it cannot name yet on stderr).
std::string Listing(const TestNetns& ns) {
  return Norm(ns.In(
      "ip -d addr 2>/dev/null; echo ==; ip -d route show table all | sort; echo ==; ip -6 -d route show table all | sort; echo ==; ip rule; ip -6 rule; echo ==; nft list ruleset; echo ==; "
      "iptables-save; ip6tables-save; echo ==; sysctl net.ipv4.conf.va.forwarding net.ipv4.conf.default.arp_ignore "
      "net.ipv6.conf.va.accept_ra net.unix.max_dgram_qlen"));
}

class NetnsTest : public ::testing::Test {
 protected:
  void Build() {
    host.In("ip link add brh type bridge && ip link set brh up && ip link add lower0 type veth peer name lower1 && ip link set lower0 up && ip link set lower1 up");
    // va: its peer on the "host" side, on brh.
    host.In(fmt::format("ip link add ha type veth peer name va netns {} && ip link set ha master brh up", src.name()));
    host.In(fmt::format("ip link add mv0 link lower0 type macvlan mode bridge && ip link set mv0 netns {}", src.name()));
    src.In(
        "ip link set lo up && ip link set va address 02:00:00:00:00:aa mtu 1400 up && "
        "ip link add br0 type bridge && ip link add br1 type bridge && "
        "ip link add in0 type veth peer name in1 && ip link set in1 master br0 && "
        "ip link set in0 up && ip link set in1 up && ip link set br0 up && ip link set mv0 up && "
        "sysctl -qw net.ipv4.conf.va.forwarding=1 net.ipv4.conf.default.arp_ignore=1 net.ipv6.conf.va.accept_ra=0 "
        "net.unix.max_dgram_qlen=77 && "
        "ip addr add 10.1.0.2/24 dev va && ip addr add 10.1.0.3/24 dev va && ip addr add fd00:1::2/64 dev va nodad && "
        "ip addr add 10.2.0.1/24 dev br0 && ip addr add 10.3.0.5/24 dev mv0 && "
        "ip route add default via 10.1.0.1 && ip route add 10.9.0.0/16 via 10.1.0.1 table 100 && "
        "ip route add 10.10.0.0/16 dev br0 table 100 && ip -6 route add fd00:9::/64 via fd00:1::1 table 100 && "
        "ip rule add from 10.1.0.0/24 lookup 100 pref 1000 && ip -6 rule add from fd00:1::/64 lookup 100 pref 1001 && "
        "printf \"*filter\\n:INPUT ACCEPT [0:0]\\n:FORWARD ACCEPT [0:0]\\n:OUTPUT ACCEPT [0:0]\\n-A INPUT -p tcp --dport 22 -j DROP\\nCOMMIT\\n\" | iptables-restore && "
        "printf \"*filter\\n:INPUT ACCEPT [0:0]\\n:FORWARD ACCEPT [0:0]\\n:OUTPUT ACCEPT [0:0]\\n-A INPUT -p tcp --dport 23 -j DROP\\nCOMMIT\\n\" | ip6tables-restore && "
        "nft add table inet t && nft add chain inet t c { type filter hook input priority 10 \\; } && "
        "nft add rule inet t c tcp dport 24 counter drop");
  }
  Result<NetnsLock> RestoreInto(const TestNetns& ns, bool fresh, const Options& opts) {
    NetnsTarget to;
    to.self_netns = ns.fd();
    to.host_netns = host.fd();
    to.fresh = fresh;
    to.lock = NetworkLock::kNftables;
    return RestoreNetns(dir.fd(), kId, to, opts, log);
  }
  TestNetns host{"host"}, src{"src"};
  TempDir dir;
  Log log;
};

TEST_F(NetnsTest, DumpedAndRestoredTheSame) {
  Build();
  auto d = DumpNetns(src.fd(), dir.fd(), kId, "", log);
  ASSERT_TRUE(d) << d.error().what();
  for (auto kind : {ImageKind::kNetns, ImageKind::kNetdev}) {
    std::string out;
    std::string img = fmt::format("{}/{}", dir.path(), ImageFileName(kind, kId));
    EXPECT_EQ(ShStatus(fmt::format("crit decode -i {} 2>&1", img), &out), 0) << out;
    if (kind == ImageKind::kNetdev) {
      for (const char* name : {"\"va\"", "\"br1\"", "\"mv0\"", "\"in1\"", "\"VETH\"", "\"MACVLAN\"", "\"BRIDGE\""})
        EXPECT_NE(out.find(name), std::string::npos) << name;
    }
  }
  for (const char* f : {"ifaddr", "route", "route6", "rule", "iptables", "ip6tables", "nftables"})
    EXPECT_EQ(::faccessat(dir.fd(), fmt::format("{}-{}.img", f, kId).c_str(), F_OK, 0), 0) << f;
  std::string before = Listing(src);
  std::string ha = host.In("ip -o link show ha");
  // The tree's namespace is gone (migrated); its twin is made.
  src.Drop();
  // Its devices go with it (the outer end of va too), asynchronously.
  for (int i = 0; i < 500 && ShStatus(fmt::format("ip -n {} link show ha >/dev/null 2>&1", host.name())) == 0; i++)
    ::usleep(10000);
  TestNetns dst("dst");
  Options opts;
  opts.external = {"veth[va]:hb@brh", "macvlan[mv0]:lower0"};
  auto lock = RestoreInto(dst, true, opts);
  ASSERT_TRUE(lock) << lock.error().what();
  // Locked until told: the lock table is there, and is not in the listing.
  EXPECT_NE(dst.In("nft list tables").find("cryo-lock-"), std::string::npos);
  ASSERT_TRUE(lock->Unlock());
  EXPECT_EQ(Listing(dst), before);
  // The outer end on its bridge, up.
  std::string hb = host.In("ip -o link show hb");
  EXPECT_NE(hb.find("master brh"), std::string::npos) << hb;
  EXPECT_NE(hb.find(",UP"), std::string::npos) << hb;
}

TEST_F(NetnsTest, IntoAPrecreatedVeth) {
  Build();
  ASSERT_TRUE(DumpNetns(src.fd(), dir.fd(), kId, "", log));
  std::string addrs = src.In("ip addr show dev va | grep inet | grep -v fe80");
  std::string routes = src.In("ip route show table 100; ip route show default");
  // A CNI plugin's work: a namespace with lo and a veth named as dumped.
  TestNetns pod("pod");
  host.In(fmt::format("ip link add hp type veth peer name va netns {} && ip link set hp master brh up", pod.name()));
  pod.In("ip link set lo up && ip link set va up && ip addr add 10.1.0.2/24 dev va");
  Options opts;
  auto lock = RestoreInto(pod, false, opts);
  ASSERT_TRUE(lock) << lock.error().what();
  EXPECT_FALSE(lock->active());
  EXPECT_EQ(pod.In("ip addr show dev va | grep inet | grep -v fe80"), addrs);
  EXPECT_EQ(pod.In("ip route show table 100; ip route show default").find("10.9.0.0/16"), routes.find("10.9.0.0/16"));
  // Nothing else made there.
  EXPECT_EQ(ShStatus(fmt::format("ip -n {} link show br0 >/dev/null 2>&1", pod.name())), 1);
}

TEST_F(NetnsTest, VethPeerMustBeNamed) {
  host.In(fmt::format("ip link add hx type veth peer name va netns {}", src.name()));
  ASSERT_TRUE(DumpNetns(src.fd(), dir.fd(), kId, "", log));
  TestNetns dst("dst2");
  auto lock = RestoreInto(dst, true, Options());
  ASSERT_FALSE(lock);
  EXPECT_NE(lock.error().what().find("--external veth[va]:"), std::string::npos) << lock.error().what();
}

TEST_F(NetnsTest, UnsupportedDevicesAreNamed) {
  src.In("ip link add d0 type ifb");
  auto d = DumpNetns(src.fd(), dir.fd(), kId, "", log);
  ASSERT_FALSE(d);
  EXPECT_NE(d.error().what().find("d0 is of kind 'ifb'"), std::string::npos) << d.error().what();
  // A tun/tap device is supported (netns/tun_test.cc).
  src.In("ip link del d0 && ip tuntap add tap0 mode tap");
  d = DumpNetns(src.fd(), dir.fd(), kId, "", log);
  EXPECT_TRUE(d) << d.error().what();
}

TEST_F(NetnsTest, TheLockIsNotDumped) {
  src.In("ip link set lo up && nft add table inet mine");
  std::string id = NewRunId();
  auto lock = NetnsLock::Lock(src.fd(), NetworkLock::kNftables, id, log);
  ASSERT_TRUE(lock);
  auto ipt = NetnsLock::Lock(src.fd(), NetworkLock::kIptables, id, log);
  ASSERT_TRUE(ipt);
  ASSERT_TRUE(DumpNetns(src.fd(), dir.fd(), kId, id, log));
  std::string nft = Sh(fmt::format("cat {}/nftables-{}.img", dir.path(), kId));
  EXPECT_NE(nft.find("table inet mine"), std::string::npos);
  EXPECT_EQ(nft.find("cryo-lock"), std::string::npos);
  EXPECT_NE(::faccessat(dir.fd(), fmt::format("iptables-{}.img", kId).c_str(), F_OK, 0), 0);
}

}  // namespace
}  // namespace cryo::netns
