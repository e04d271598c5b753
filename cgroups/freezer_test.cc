#include "cgroups/freezer.h"

#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include "engine/base/files.h"

namespace cryo::cgroups {
namespace {

// A process that keeps forking short-lived children, in a fresh cgroup of
// the v1 freezer or of cgroup2.
class FreezerTest : public ::testing::TestWithParam<bool> {
 protected:
  void SetUp() override {
    bool v2 = GetParam();
    dir_ = fmt::format("/sys/fs/cgroup/{}/cryo-freezer-test-{}", v2 ? "unified" : "freezer", getpid());
    struct stat st;
    if (stat(v2 ? "/sys/fs/cgroup/unified" : "/sys/fs/cgroup/freezer", &st) != 0)
      GTEST_SKIP() << "this host has no " << (v2 ? "cgroup2" : "v1 freezer") << " mount";
    ASSERT_EQ(mkdir(dir_.c_str(), 0755), 0) << dir_;
    int ready[2];
    ASSERT_EQ(pipe(ready), 0);
    pid_ = fork();
    if (pid_ == 0) {
      WriteFile(dir_ + "/cgroup.procs", std::to_string(getpid()), 0644);
      (void)!write(ready[1], "x", 1);
      for (;;) {
        pid_t c = fork();
        if (c == 0) _exit(0);
        if (c > 0) waitpid(c, nullptr, 0);
      }
    }
    char c;
    ASSERT_EQ(read(ready[0], &c, 1), 1);
    close(ready[0]);
    close(ready[1]);
  }
  void TearDown() override {
    if (pid_ > 0) {
      kill(pid_, SIGKILL);
      (void)WriteFile(dir_ + (GetParam() ? "/cgroup.freeze" : "/freezer.state"), GetParam() ? "0" : "THAWED", 0644);
      waitpid(pid_, nullptr, __WALL);
    }
    for (int i = 0; i < 100 && rmdir(dir_.c_str()) != 0 && errno == EBUSY; i++) usleep(10000);
  }
  std::string State() {
    if (GetParam()) return ReadFile(dir_ + "/cgroup.freeze").value_or("?").substr(0, 1);
    std::string s = ReadFile(dir_ + "/freezer.state").value_or("?");
    return s.substr(0, s.find('\n'));
  }
  std::string dir_;
  pid_t pid_ = -1;
};

TEST_P(FreezerTest, HoldsEveryThreadThenThaws) {
  Log log;
  auto f = Freezer::FreezeAndSeize(dir_, 5, log);
  ASSERT_TRUE(f) << f.error().what();
  EXPECT_FALSE(f->was_frozen());
  EXPECT_EQ(f->where().v2, GetParam());
  EXPECT_TRUE(f->held().count(pid_));
  // Held: it cannot fork any more, so nothing new appears in the cgroup.
  ASSERT_TRUE(f->HoldOthers());
  std::string before = ReadFile(dir_ + "/cgroup.procs").value();
  usleep(50000);
  EXPECT_EQ(ReadFile(dir_ + "/cgroup.procs").value(), before);
  std::string stat = ReadFile(fmt::format("/proc/{}/stat", pid_)).value();
  EXPECT_EQ(stat[stat.rfind(')') + 2], 't');
  ASSERT_TRUE(f->Finish(true));
  EXPECT_EQ(State(), GetParam() ? "0" : "THAWED");
}

TEST_P(FreezerTest, AFrozenCgroupStaysFrozen) {
  ASSERT_TRUE(WriteFile(dir_ + (GetParam() ? "/cgroup.freeze" : "/freezer.state"), GetParam() ? "1" : "FROZEN", 0644));
  Log log;
  FrozenCheck check;
  for (int i = 0; i < 100 && check.FrozenCgroupOf(pid_).empty(); i++) {
    check = FrozenCheck();
    usleep(10000);
  }
  EXPECT_FALSE(check.FrozenCgroupOf(pid_).empty());
  auto f = Freezer::FreezeAndSeize(dir_, 5, log);
  ASSERT_TRUE(f) << f.error().what();
  EXPECT_TRUE(f->was_frozen());
  ASSERT_TRUE(f->HoldOthers());
  ASSERT_TRUE(f->Finish(true));
  EXPECT_EQ(State(), GetParam() ? "1" : "FROZEN");
}

TEST_P(FreezerTest, AParentsFreezeIsRefused) {
  std::string inner = dir_ + "/inner";
  ASSERT_EQ(mkdir(inner.c_str(), 0755), 0);
  ASSERT_TRUE(WriteFile(inner + "/cgroup.procs", std::to_string(pid_), 0644));
  ASSERT_TRUE(WriteFile(dir_ + (GetParam() ? "/cgroup.freeze" : "/freezer.state"), GetParam() ? "1" : "FROZEN", 0644));
  usleep(100000);
  Log log;
  auto f = Freezer::FreezeAndSeize(inner, 1, log);
  ASSERT_FALSE(f);
  EXPECT_NE(f.error().what().find("parent"), std::string::npos) << f.error().what();
  ASSERT_TRUE(WriteFile(dir_ + (GetParam() ? "/cgroup.freeze" : "/freezer.state"), GetParam() ? "0" : "THAWED", 0644));
  kill(pid_, SIGKILL);
  waitpid(pid_, nullptr, __WALL);
  pid_ = -1;
  for (int i = 0; i < 100 && rmdir(inner.c_str()) != 0 && errno == EBUSY; i++) usleep(10000);
}

TEST(Freezer, ErrorsSayWhat) {
  Log log;
  auto none = Freezer::FreezeAndSeize("/nonexistent/cgroup", 1, log);
  ASSERT_FALSE(none);
  EXPECT_NE(none.error().what().find("/nonexistent/cgroup"), std::string::npos);
  EXPECT_FALSE(Freezer::FreezeAndSeize("/tmp", 1, log));
}

INSTANTIATE_TEST_SUITE_P(V1AndV2, FreezerTest, ::testing::Values(false, true),
                         [](const auto& info) { return info.param ? "cgroup2" : "v1"; });

}  // namespace
}  // namespace cryo::cgroups
