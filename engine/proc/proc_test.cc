#include "engine/proc/proc.h"

#include <sys/mman.h>
#include <unistd.h>

#include <gtest/gtest.h>

namespace cryo {
namespace {

TEST(Maps, ParsesLinesPathsAndFlags) {
  std::string text =
      "55d0c0a00000-55d0c0a02000 r-xp 00001000 fd:01 1234567    /usr/bin/my prog\n"
      "Rss:                   8 kB\n"
      "VmFlags: rd ex mr mw me dw sd\n"
      "7f0000000000-7f0000021000 rw-s 00000000 00:01 99         /memfd:x (deleted)\n"
      "VmFlags: rd wr sh mr mw me ms dc\n"
      "7ffd1000-7ffd3000 r--p 00000000 00:00 0                  [vvar_vclock]\n"
      "7ffd3000-7ffd5000 rw-p 00000000 00:00 0 \n";
  auto v = ParseMaps(text, true).value();
  ASSERT_EQ(v.size(), 4u);
  EXPECT_EQ(v[0].start, 0x55d0c0a00000u);
  EXPECT_EQ(v[0].prot, unsigned(PROT_READ | PROT_EXEC));
  EXPECT_EQ(v[0].pgoff, 0x1000u);
  EXPECT_EQ(v[0].dev_major, 0xfdu);
  EXPECT_EQ(v[0].ino, 1234567u);
  EXPECT_EQ(v[0].path, "/usr/bin/my prog");
  EXPECT_TRUE(v[0].HasFlag("ex"));
  EXPECT_TRUE(v[1].shared);
  EXPECT_TRUE(v[1].deleted);
  EXPECT_EQ(v[1].path, "/memfd:x");
  EXPECT_TRUE(v[1].HasFlag("dc"));
  EXPECT_EQ(v[2].path, "[vvar_vclock]");
  EXPECT_EQ(v[3].path, "");
}

TEST(Maps, BadLineNamesIt) {
  auto r = ParseMaps("zzzz r-xp 0 0:0 0\n", false);
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message().find("maps line 1: bad address range"), std::string::npos);
}

TEST(Stat, CommWithParenthesesAndFields) {
  std::string fields;
  for (int i = 4; i <= 52; i++) fields += " " + std::to_string(i);
  auto st = ParseStat("42 (a) b (c) S" + fields).value();
  EXPECT_EQ(st.comm, "a) b (c");
  EXPECT_EQ(st.state, 'S');
  EXPECT_EQ(st.ppid, 4);
  EXPECT_EQ(st.start_code, 26u);
  EXPECT_EQ(st.env_end, 51u);
  EXPECT_EQ(st.exit_code, 52);
  EXPECT_FALSE(ParseStat("42 (x) S 1 2"));
}

TEST(Proc, LiveSelf) {
  auto st = ReadStat(getpid()).value();
  EXPECT_EQ(st.ppid, getppid());
  auto maps = ReadSmaps(getpid()).value();
  EXPECT_FALSE(maps.empty());
  auto threads = ListThreads(getpid());
  ASSERT_FALSE(threads.empty());
  EXPECT_EQ(threads[0], getpid());
  auto fds = ListFds(getpid());
  EXPECT_FALSE(fds.empty());
  auto fi = ParseFdInfo("pos:\t12\nflags:\t02100002\nmnt_id:\t25\nino:\t7\n").value();
  EXPECT_EQ(fi.pos, 12u);
  EXPECT_EQ(fi.flags, 02100002u);
  EXPECT_EQ(fi.mnt_id, 25);
  EXPECT_EQ(StatusField("Name:\tx\nUid:\t0\t1\t2\t3\n", "Uid").value(), "0\t1\t2\t3");
}

}  // namespace
}  // namespace cryo
