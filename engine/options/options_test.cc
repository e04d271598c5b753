#include "engine/options/options.h"

#include <sched.h>

#include <gtest/gtest.h>

namespace cryo {
namespace {

TEST(Options, InheritFd) {
  auto v = ParseInheritFd("fd[4]:pipe:[1234]").value();
  EXPECT_EQ(v.fd, 4);
  EXPECT_EQ(v.key, "pipe:[1234]");
  EXPECT_FALSE(ParseInheritFd("4:pipe"));
  EXPECT_FALSE(ParseInheritFd("fd[x]:k"));
  EXPECT_FALSE(ParseInheritFd("fd[3]:"));
  EXPECT_EQ(ParseInheritFd("fd[-1]:k").error().message(), "--inherit-fd 'fd[-1]:k': negative fd");
}

TEST(Options, ExtMountMap) {
  auto v = ParseExtMountMap("/lib:lib").value();
  EXPECT_EQ(v.key, "/lib");
  EXPECT_EQ(v.val, "lib");
  EXPECT_EQ(ParseExtMountMap("auto").value().key, "auto");
  EXPECT_FALSE(ParseExtMountMap("nocolon"));
  EXPECT_FALSE(ParseExtMountMap(":lib"));
  // LXC's map for an absent console.
  auto empty = ParseExtMountMap("console:").value();
  EXPECT_EQ(empty.key, "console");
  EXPECT_EQ(empty.val, "");
}

TEST(Options, CgroupRoot) {
  auto all = ParseCgroupRoot("/lxc/a").value();
  EXPECT_FALSE(all.ctrl.has_value());
  EXPECT_EQ(all.path, "/lxc/a");
  auto one = ParseCgroupRoot("name=systemd:/lxc.payload.c").value();
  EXPECT_EQ(one.ctrl, "name=systemd");
  EXPECT_EQ(one.path, "/lxc.payload.c");
  EXPECT_FALSE(ParseCgroupRoot("cpu:"));
}

TEST(Options, JoinNs) {
  auto v = ParseJoinNs("net:/var/run/netns/x").value();
  EXPECT_EQ(v.ns, "net");
  EXPECT_EQ(v.file, "/var/run/netns/x");
  auto u = ParseJoinNs("user:1234,0,0").value();
  EXPECT_EQ(u.file, "1234");
  EXPECT_EQ(u.extra, "0,0");
  EXPECT_EQ(ParseJoinNs("bogus:1").error().message(),
            "--join-ns 'bogus:1': unknown namespace 'bogus'");
}

TEST(Options, VethPairAndModes) {
  auto v = ParseVethPair("eth0=veth1@br0").value();
  EXPECT_EQ(v.in, "eth0");
  EXPECT_EQ(v.out, "veth1");
  EXPECT_EQ(v.bridge, "br0");
  EXPECT_EQ(ParseCgroupMode("full").value(), CgroupMode::kFull);
  EXPECT_FALSE(ParseCgroupMode("fuller"));
  EXPECT_EQ(ParseNetworkLock("nftables").value(), NetworkLock::kNftables);
  EXPECT_EQ(ParseEmptyNs("net").value(), static_cast<uint32_t>(CLONE_NEWNET));
  EXPECT_FALSE(ParseEmptyNs("pid"));
}

TEST(Options, WorkDirDefaultsToImagesDir) {
  Options o;
  o.images_dir = "/img";
  EXPECT_EQ(o.WorkDir(), "/img");
  o.work_dir = "/w";
  EXPECT_EQ(o.WorkDir(), "/w");
}

}  // namespace
}  // namespace cryo
