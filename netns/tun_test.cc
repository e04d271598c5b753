// tun/tap devices of a namespace: persistent ones come back with their
// settings (owner, group, type, multiqueue, vnet header) and addresses;
// a held one is read through its holder's file; one whose file is held
// outside the namespace stops the dump.
#include "netns/tun.h"

#include <gtest/gtest.h>
#include <linux/if_tun.h>
#include <signal.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <regex>

#include "engine/image/image_reader.h"
#include "engine/image/image_type.h"
#include "netns/in_netns.h"
#include "netns/netns.h"
#include "netns/test_util.h"

namespace cryo::netns {
namespace {

using testing::ShStatus;
using testing::TempDir;
using testing::TestNetns;

constexpr uint32_t kId = 3;

std::vector<img::net_device_entry> Devices(int dir) {
  std::vector<img::net_device_entry> out;
  auto r = ImageReader::Open(dir, ImageKind::kNetdev, kId);
  EXPECT_TRUE(r);
  img::net_device_entry e;
  while (r && r->Next(e).value_or(false)) out.push_back(e);
  return out;
}

const img::net_device_entry* Find(const std::vector<img::net_device_entry>& devs, const std::string& name) {
  for (const auto& d : devs)
    if (d.name() == name) return &d;
  return nullptr;
}

std::string Listing(const TestNetns& ns) {
  std::string s = ns.In("ip -d link show pt0; ip -d link show pt1; ip addr show pt0; ip addr show pt1");
  // Queue counts and timers are not the device's settings; link-local
  // addresses and their mode are the kernel's.
  s = std::regex_replace(s, std::regex(R"(\n\s*inet6 fe80\S+ scope link[^\n]*\n[^\n]*)"), "");
  s = std::regex_replace(s, std::regex(R"(addrgenmode \S+)"), "~");
  s = std::regex_replace(s, std::regex(R"(numqueues \d+ numdisabled \d+)"), "~");
  s = std::regex_replace(s, std::regex(R"(valid_lft \S+ preferred_lft \S+)"), "~");
  return std::regex_replace(s, std::regex(R"( NO-CARRIER,| tentative|state \S+)"), "~");
}

TEST(TunTest, PersistentDevicesComeBack) {
  TestNetns src("tunsrc");
  src.In(
      "ip tuntap add dev pt0 mode tun user 1234 group 99 multi_queue && ip link set pt0 mtu 1300 up && "
      "ip addr add 10.210.9.1/24 dev pt0 && "
      "ip tuntap add dev pt1 mode tap vnet_hdr && ip link set pt1 address 02:00:00:00:10:01 up && "
      "ip addr add 10.210.10.1/24 dev pt1");
  TempDir dir;
  Log log;
  auto d = DumpNetns(src.fd(), dir.fd(), kId, "", log);
  ASSERT_TRUE(d) << d.error().what();
  auto devs = Devices(dir.fd());
  const auto* pt0 = Find(devs, "pt0");
  const auto* pt1 = Find(devs, "pt1");
  ASSERT_TRUE(pt0 && pt1);
  EXPECT_EQ(pt0->type(), img::TUN);
  ASSERT_TRUE(pt0->has_tun());
  EXPECT_EQ(pt0->tun().flags(), uint32_t(IFF_TUN | IFF_NO_PI | IFF_MULTI_QUEUE | IFF_PERSIST));
  EXPECT_EQ(pt0->tun().owner(), 1234);
  EXPECT_EQ(pt0->tun().group(), 99);
  EXPECT_EQ(pt1->tun().flags(), uint32_t(IFF_TAP | IFF_NO_PI | IFF_VNET_HDR | IFF_PERSIST));
  EXPECT_EQ(pt1->tun().owner(), -1);
  EXPECT_EQ(pt1->tun().vnethdr(), 10u);  // sizeof(struct virtio_net_hdr), the kernel's default
  std::string out;
  EXPECT_EQ(ShStatus(fmt::format("crit decode -i {}/netdev-{}.img 2>&1", dir.path(), kId), &out), 0) << out;
  EXPECT_NE(out.find("\"TUN\""), std::string::npos) << out;
  EXPECT_NE(out.find("\"vnethdr\""), std::string::npos) << out;
  std::string before = Listing(src);
  src.Drop();
  TestNetns dst("tundst");
  NetnsTarget to;
  to.self_netns = dst.fd();
  to.host_netns = dst.fd();
  to.lock = NetworkLock::kSkip;
  Options opts;
  auto lock = RestoreNetns(dir.fd(), kId, to, opts, log);
  ASSERT_TRUE(lock) << lock.error().what();
  EXPECT_EQ(Listing(dst), before);
}

// A child holding a non-persistent tap of `ns` with its own vnet header
// size and send buffer, in `ns` or back in `back` when that is given;
// writes a byte to `ready` once set.
pid_t HoldTap(const char* name, int ns, int ready, int back = -1) {
  pid_t pid = ::fork();
  if (pid != 0) return pid;
  if (::setns(ns, CLONE_NEWNET) != 0) ::_exit(1);
  auto fd = AttachTun(name, IFF_TAP | IFF_NO_PI | IFF_VNET_HDR);
  if (!fd || (back >= 0 && ::setns(back, CLONE_NEWNET) != 0)) ::_exit(2);
  int hdr = 12, sndbuf = 65536;
  if (::ioctl(fd->get(), TUNSETVNETHDRSZ, &hdr) != 0 || ::ioctl(fd->get(), TUNSETSNDBUF, &sndbuf) != 0) ::_exit(3);
  if (::write(ready, "x", 1) != 1) ::_exit(4);
  for (;;) ::pause();
}

TEST(TunTest, HeldDeviceReadThroughItsFile) {
  TestNetns src("tunheld");
  int p[2];
  ASSERT_EQ(::pipe(p), 0);
  pid_t kid = HoldTap("ht0", src.fd(), p[1]);
  ASSERT_GT(kid, 0);
  char c;
  ASSERT_EQ(::read(p[0], &c, 1), 1);
  TempDir dir;
  Log log;
  auto d = DumpNetns(src.fd(), dir.fd(), kId, "", log);
  ::kill(kid, SIGKILL);
  ::waitpid(kid, nullptr, 0);
  ::close(p[0]);
  ::close(p[1]);
  ASSERT_TRUE(d) << d.error().what();
  auto devs = Devices(dir.fd());
  const auto* ht0 = Find(devs, "ht0");
  ASSERT_TRUE(ht0 && ht0->has_tun());
  EXPECT_EQ(ht0->tun().flags(), uint32_t(IFF_TAP | IFF_NO_PI | IFF_VNET_HDR));  // not persistent
  EXPECT_EQ(ht0->tun().vnethdr(), 12u);
  EXPECT_EQ(ht0->tun().sndbuf(), 65536u);
}

TEST(TunTest, FileHeldOutsideTheNamespaceStopsTheDump) {
  TestNetns src("tunout");
  auto self = OpenNetns(0);
  ASSERT_TRUE(self);
  int p[2];
  ASSERT_EQ(::pipe(p), 0);
  // Attached in there, held by a process that is not.
  pid_t kid = HoldTap("ot0", src.fd(), p[1], self->get());
  ASSERT_GT(kid, 0);
  char c;
  ASSERT_EQ(::read(p[0], &c, 1), 1);
  TempDir dir;
  Log log;
  auto d = DumpNetns(src.fd(), dir.fd(), kId, "", log);
  ::kill(kid, SIGKILL);
  ::waitpid(kid, nullptr, 0);
  ::close(p[0]);
  ::close(p[1]);
  ASSERT_FALSE(d);
  EXPECT_NE(d.error().what().find("tun device ot0 is not persistent"), std::string::npos) << d.error().what();
}

}  // namespace
}  // namespace cryo::netns
