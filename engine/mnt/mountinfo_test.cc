#include "engine/mnt/mountinfo.h"

#include <sys/mount.h>

#include <gtest/gtest.h>

namespace cryo::mnt {
namespace {

TEST(MountInfo, ParsesFieldsFlagsAndPeerGroups) {
  auto r = ParseMountInfo(
      "22 1 8:1 /srv/ct/rootfs / rw,relatime shared:1 - ext4 /dev/sda1 rw,errors=remount-ro\n"
      "23 22 0:21 / /proc rw,nosuid,nodev,noexec,relatime - proc proc rw\n"
      "24 22 0:30 / /dev/my\\040dir ro,nosuid master:7 shared:9 - tmpfs tmpfs ro,size=65536k,mode=755\n");
  ASSERT_TRUE(r) << r.error().what();
  ASSERT_EQ(r->size(), 3u);
  const MountInfo& a = (*r)[0];
  EXPECT_EQ(a.id, 22u);
  EXPECT_EQ(a.parent, 1u);
  EXPECT_EQ(a.dev, (8u << 20) | 1u);
  EXPECT_EQ(a.root, "/srv/ct/rootfs");
  EXPECT_EQ(a.flags, static_cast<uint32_t>(MS_RELATIME));
  EXPECT_EQ(a.shared, 1u);
  EXPECT_EQ(a.options, "errors=remount-ro");
  EXPECT_EQ((*r)[1].flags, static_cast<uint32_t>(MS_NOSUID | MS_NODEV | MS_NOEXEC | MS_RELATIME));
  const MountInfo& c = (*r)[2];
  EXPECT_EQ(c.mountpoint, "/dev/my dir");
  EXPECT_EQ(c.flags, static_cast<uint32_t>(MS_RDONLY | MS_NOSUID | MS_STRICTATIME));  // neither relatime nor noatime
  EXPECT_EQ(c.master, 7u);
  EXPECT_EQ(c.shared, 9u);
  EXPECT_EQ(c.sb_flags, static_cast<uint32_t>(MS_RDONLY));
  EXPECT_EQ(c.options, "size=65536k,mode=755");
}

TEST(MountInfo, RejectsTruncatedLines) {
  EXPECT_FALSE(ParseMountInfo("22 1 8:1 / / rw - ext4\n"));
  EXPECT_FALSE(ParseMountInfo("x y z\n"));
}

TEST(MountInfo, PathsBelow) {
  EXPECT_TRUE(IsBelow("/a/b", "/a"));
  EXPECT_TRUE(IsBelow("/a", "/a"));
  EXPECT_FALSE(IsBelow("/ab", "/a"));
  EXPECT_TRUE(IsBelow("/x", "/"));
  EXPECT_EQ(RelativeTo("/a/b/c", "/a"), "b/c");
  EXPECT_EQ(RelativeTo("/a", "/a"), "");
  EXPECT_EQ(RelativeTo("/a", "/"), "a");
  EXPECT_EQ(RelativeTo("/", "/"), "");
}

}  // namespace
}  // namespace cryo::mnt
