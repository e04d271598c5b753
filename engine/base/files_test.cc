#include "engine/base/files.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>

#include <gtest/gtest.h>

namespace cryo {
namespace {

TEST(Files, WriteThenReadWholeFile) {
  char dir[] = "/tmp/cryo-files-XXXXXX";
  ASSERT_NE(::mkdtemp(dir), nullptr);
  std::string path = std::string(dir) + "/f";
  ASSERT_TRUE(WriteFile(path, "hello\n"));
  struct stat st;
  ASSERT_EQ(::stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  EXPECT_EQ(ReadFile(path).value(), "hello\n");
  auto big = ReadFile(path, 3);
  ASSERT_FALSE(big);
  EXPECT_EQ(big.error().err(), EFBIG);
  ::unlink(path.c_str());
  ::rmdir(dir);
}

TEST(Files, ReadsProcfsFiles) {
  auto s = ReadFile("/proc/self/status");
  ASSERT_TRUE(s) << s.error().what();
  EXPECT_NE(s->find("Pid:"), std::string::npos);
}

TEST(Files, MissingFileNamesPath) {
  auto r = ReadFile("/nonexistent/x");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().what(), "open /nonexistent/x: ENOENT");
}

TEST(Files, ReadExactReportsShortRead) {
  int p[2];
  ASSERT_EQ(::pipe(p), 0);
  ASSERT_EQ(::write(p[1], "ab", 2), 2);
  ::close(p[1]);
  char buf[4];
  auto r = ReadExact(p[0], buf, 4);
  ::close(p[0]);
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message().find("2 of 4"), std::string::npos);
}

}  // namespace
}  // namespace cryo
