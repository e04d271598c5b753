#include "netns/iproute_dump.h"

#include <gtest/gtest.h>

#include "engine/base/files.h"
#include "netns/addr.h"
#include "netns/in_netns.h"
#include "netns/netlink.h"
#include "netns/route.h"
#include "netns/test_util.h"

namespace cryo::netns {
namespace {

using testing::Sh;
using testing::TempDir;
using testing::TestNetns;

TEST(IprouteDump, RoundTrip) {
  NlBuilder a(RTM_NEWADDR, 0), b(RTM_NEWROUTE, 0);
  a.Header<ifaddrmsg>()->ifa_index = 7;
  b.Header<rtmsg>()->rtm_table = 100;
  b.PutU32(RTA_OIF, 7);
  std::string saved = SaveMessages(kRouteMagic, {a.Take(), b.Take()});
  auto msgs = LoadMessages(saved, kRouteMagic, "test");
  ASSERT_TRUE(msgs) << msgs.error().what();
  ASSERT_EQ(msgs->size(), 2u);
  EXPECT_EQ(Hdr((*msgs)[1])->nlmsg_type, RTM_NEWROUTE);
  EXPECT_EQ(Payload<ifaddrmsg>((*msgs)[0])->ifa_index, 7u);
}

TEST(IprouteDump, BadInputIsAnError) {
  EXPECT_FALSE(LoadMessages("ab", kRouteMagic, "t"));
  EXPECT_FALSE(LoadMessages(SaveMessages(kRuleMagic, {}), kRouteMagic, "t"));
  std::string bad = SaveMessages(kRouteMagic, {});
  bad += std::string("\xff\xff\x00\x00\x18\x00\x00\x00", 8) + std::string(8, '\0');
  EXPECT_FALSE(LoadMessages(bad, kRouteMagic, "t"));
}

// iproute2 reads what cryo writes: `ip addr restore` and `ip route
// restore` rebuild the same addresses and routes in another namespace.
TEST(IprouteDump, IpRestoresCryosImages) {
  TestNetns a("ipa"), b("ipb");
  const char* links = "ip link add v0 index 20 type veth peer name v1 index 21 && ip link set v0 up && ip link set v1 up && ip link set lo up";
  a.In(links);
  b.In(links);
  a.In("ip addr add 10.77.0.2/24 dev v0 && ip addr add fd00:77::2/64 dev v0 nodad && "
       "ip route add 10.78.0.0/16 via 10.77.0.1 table 100");
  std::vector<std::string> addrs, routes;
  {
    auto in = NetnsSwitch::Enter(a.fd());
    ASSERT_TRUE(in);
    auto rt = Rtnl::Open();
    ASSERT_TRUE(rt);
    addrs = DumpAddrs(*rt).value();
    routes = DumpRoutes(*rt, AF_INET).value();
  }
  TempDir dir;
  ASSERT_TRUE(WriteFile(dir.path() + "/ifaddr", SaveMessages(kIfaddrMagic, addrs)));
  ASSERT_TRUE(WriteFile(dir.path() + "/route", SaveMessages(kRouteMagic, routes)));
  Sh(fmt::format("ip -n {} addr restore < {}/ifaddr", b.name(), dir.path()));
  Sh(fmt::format("ip -n {} route restore < {}/route", b.name(), dir.path()));
  EXPECT_EQ(a.In("ip addr show dev v0 | grep \"scope global\""), b.In("ip addr show dev v0 | grep \"scope global\""));
  EXPECT_EQ(a.In("ip route show table 100"), b.In("ip route show table 100"));
  EXPECT_NE(b.In("ip route show table 100"), "");
  // `ip addr showdump` decodes the image too.
  EXPECT_NE(Sh(fmt::format("ip addr showdump < {}/ifaddr", dir.path())).find("10.77.0.2/24"), std::string::npos);
}

}  // namespace
}  // namespace cryo::netns
