#include "engine/restore/shared_files.h"

#include <gtest/gtest.h>

namespace cryo {
namespace {

TEST(SharedFiles, ProcPidPaths) {
  EXPECT_TRUE(SharedFiles::IsProcPidPath("/proc/12"));
  EXPECT_TRUE(SharedFiles::IsProcPidPath("/proc/12/status"));
  EXPECT_TRUE(SharedFiles::IsProcPidPath("/proc/1/task/1/stat"));
  EXPECT_FALSE(SharedFiles::IsProcPidPath("/proc/self/status"));  // a link: dumped as /proc/PID
  EXPECT_FALSE(SharedFiles::IsProcPidPath("/proc/sys/kernel/pid_max"));
  EXPECT_FALSE(SharedFiles::IsProcPidPath("/proc/"));
  EXPECT_FALSE(SharedFiles::IsProcPidPath("/proc/12x/status"));
  EXPECT_FALSE(SharedFiles::IsProcPidPath("/tmp/proc/12"));
}

}  // namespace
}  // namespace cryo
