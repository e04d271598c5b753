#include "engine/mnt/mount_dump.h"

#include <gtest/gtest.h>

#include "engine/mnt/fstype.h"

namespace cryo::mnt {
namespace {

std::vector<MountInfo> Parse(const char* text) {
  auto r = ParseMountInfo(text);
  EXPECT_TRUE(r) << r.error().what();
  return r ? *r : std::vector<MountInfo>{};
}

const char* kHost =
    "1 0 8:1 / / rw,relatime shared:1 - ext4 /dev/sda1 rw\n"
    "2 1 0:5 / /dev rw,nosuid shared:2 - devtmpfs udev rw,mode=755\n";

const char* kContainer =
    "40 30 8:1 /srv/rootfs / rw,relatime - ext4 /dev/sda1 rw\n"
    "41 40 0:60 / /proc rw,nosuid,nodev,noexec,relatime - proc proc rw\n"
    "42 40 0:61 / /dev rw,nosuid - tmpfs tmpfs rw,size=65536k,mode=755\n"
    "43 41 0:60 /sys /proc/sys ro,relatime - proc proc rw\n"
    "44 41 0:5 /null /proc/kcore rw,nosuid - devtmpfs udev rw,mode=755\n"
    "45 40 8:1 /usr /usr ro,relatime - ext4 /dev/sda1 rw\n";

TEST(DescribeMounts, ClassifiesEachMount) {
  Options o;
  o.auto_ext_mnt = true;
  auto r = DescribeMounts(Parse(kContainer), o, Parse(kHost));
  ASSERT_TRUE(r) << r.error().what();
  ASSERT_EQ(r->size(), 6u);
  const auto& m = *r;
  EXPECT_EQ(m[0].parent_mnt_id(), 40u);  // the root is its own parent
  EXPECT_EQ(m[1].fstype(), static_cast<uint32_t>(Fstype::kProc));
  EXPECT_FALSE(m[3].ext_mount());  // a bind of the tree's own proc
  EXPECT_TRUE(m[4].ext_mount());   // /dev/null of cryo's
  EXPECT_EQ(m[4].ext_key(), kAutoExternal);
  EXPECT_TRUE(m[5].ext_mount());  // /usr: a bind of the host's / (the root mount is not a source)
}

TEST(DescribeMounts, BindFromOutsideNeedsANameOrAuto) {
  Options o;
  auto r = DescribeMounts(Parse(kContainer), o, Parse(kHost));
  ASSERT_FALSE(r);
  EXPECT_NE(std::string(r.error().what()).find("/proc/kcore"), std::string::npos) << r.error().what();
  o.external = {"mnt[/proc/kcore]:null", "mnt[/usr]:usr"};
  auto named = DescribeMounts(Parse(kContainer), o, Parse(kHost));
  ASSERT_TRUE(named) << named.error().what();
  EXPECT_EQ((*named)[4].ext_key(), "null");
  EXPECT_EQ((*named)[5].ext_key(), "usr");
}

TEST(DescribeMounts, SkipMntDropsTheSubtree) {
  Options o;
  o.auto_ext_mnt = true;
  o.skip_mnt = {"/proc"};
  auto r = DescribeMounts(Parse(kContainer), o, Parse(kHost));
  ASSERT_TRUE(r) << r.error().what();
  EXPECT_EQ(r->size(), 3u);  // /, /dev, /usr
}


// A tmpfs of cryo's bound in part (a file of it): external with mnt[]:s
// (CRIU's sharing flag), not a new tmpfs; a whole tmpfs of the tree's own
// stays made anew. A removed bind root is marked deleted.
TEST(DescribeMounts, AutoExternalTmpfsPartsAndDeletedRoots) {
  const char* host =
      "1 0 8:1 / / rw,relatime shared:1 - ext4 /dev/sda1 rw\n"
      "3 1 0:70 /f /tmp/f rw,relatime - tmpfs src rw\n";
  const char* ct =
      "40 30 8:1 /srv/rootfs / rw,relatime - ext4 /dev/sda1 rw\n"
      "41 40 0:70 /f /file rw,relatime - tmpfs src rw\n"
      "42 40 0:71 / /t rw,relatime - tmpfs t rw\n"
      "43 40 0:71 /gone//deleted /u rw,relatime - tmpfs t rw\n";
  Options o;
  o.external = {"mnt[]:s"};
  auto r = DescribeMounts(Parse(ct), o, Parse(host));
  ASSERT_TRUE(r) << r.error().what();
  ASSERT_EQ(r->size(), 4u);
  EXPECT_TRUE((*r)[1].ext_mount());
  EXPECT_EQ((*r)[1].ext_key(), kAutoExternal);
  EXPECT_FALSE((*r)[2].ext_mount());
  EXPECT_FALSE((*r)[3].ext_mount());
  EXPECT_TRUE((*r)[3].deleted());
  EXPECT_EQ((*r)[3].root(), "/gone");
}

}  // namespace
}  // namespace cryo::mnt
