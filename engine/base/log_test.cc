#include "engine/base/log.h"

#include <unistd.h>

#include <gtest/gtest.h>

#include "engine/base/files.h"

namespace cryo {
namespace {

std::string Drain(int fd) {
  std::string out;
  char buf[256];
  ssize_t n;
  while ((n = ::read(fd, buf, sizeof buf)) > 0) out.append(buf, n);
  return out;
}

TEST(Log, FiltersByLevelAndStampsLines) {
  int p[2];
  ASSERT_EQ(::pipe(p), 0);
  {
    Log log(p[1], 2, /*owned=*/true);
    log.Error("bad {}", 1);
    log.Warn("careful");
    log.Info("hidden at level 2");
    log.Debug("hidden too");
  }
  std::string out = Drain(p[0]);
  ::close(p[0]);
  EXPECT_NE(out.find(") Error: bad 1\n"), std::string::npos) << out;
  EXPECT_NE(out.find(") Warn: careful\n"), std::string::npos) << out;
  EXPECT_EQ(out.find("hidden"), std::string::npos) << out;
  EXPECT_EQ(out.front(), '(');
}

TEST(Log, AMovedLogKeepsItsFile) {
  int p[2];
  ASSERT_EQ(::pipe(p), 0);
  {
    Log first(p[1], 3, /*owned=*/true);
    Log second = std::move(first);  // the moved-from one must not close the fd
    first = Log();
    second.Info("still open");
  }
  std::string out = Drain(p[0]);
  ::close(p[0]);
  EXPECT_NE(out.find("still open"), std::string::npos) << out;
}

TEST(Log, DefaultLogWritesNowhere) {
  Log log;
  EXPECT_FALSE(log.enabled(LogLevel::kError));
  log.Error("goes nowhere");
}

}  // namespace
}  // namespace cryo
