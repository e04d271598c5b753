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

// LXC's proc:mixed: /proc/sys/net (70) is bound first, /proc/sys (71)
// over it read-only, and 70 moved back on top: mountinfo lists 70 first.
TEST(MountInfo, ListsAMovedMountAfterItsParent) {
  auto r = ParseMountInfo(
      "67 45 254:0 /ct/rootfs / rw,relatime shared:1 - ext4 /dev/vda rw\n"
      "69 67 0:42 / /proc rw,nosuid,nodev,noexec,relatime shared:7 - proc proc rw\n"
      "70 71 0:42 /sys/net /proc/sys/net rw,nosuid,nodev,noexec,relatime shared:9 - proc proc rw\n"
      "71 69 0:42 /sys /proc/sys ro,relatime shared:8 - proc proc rw\n"
      "72 67 0:43 / /sys ro,relatime shared:10 - sysfs sysfs ro\n");
  ASSERT_TRUE(r) << r.error().what();
  std::vector<uint32_t> ids;
  for (const auto& m : *r) ids.push_back(m.id);
  EXPECT_EQ(ids, (std::vector<uint32_t>{67, 69, 71, 70, 72}));
}

TEST(MountInfo, ParentsFirstKeepsTheRestInOrder) {
  using V = std::vector<size_t>;
  // In order already (a root whose parent is outside, or itself).
  EXPECT_EQ(ParentsFirst({{5, 1}, {6, 5}, {7, 5}, {8, 6}}), (V{0, 1, 2, 3}));
  EXPECT_EQ(ParentsFirst({{5, 5}, {6, 5}}), (V{0, 1}));
  // 6 and its child 9 wait for 8; siblings keep their order.
  EXPECT_EQ(ParentsFirst({{5, 1}, {6, 8}, {9, 6}, {7, 5}, {8, 5}, {10, 8}}), (V{0, 3, 4, 1, 2, 5}));
  // A cycle comes last, for the caller to refuse.
  EXPECT_EQ(ParentsFirst({{3, 4}, {4, 3}, {5, 1}}), (V{2, 0, 1}));
  EXPECT_TRUE(ParentsFirst({}).empty());
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
