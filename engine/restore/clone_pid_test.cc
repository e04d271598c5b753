#include "engine/restore/clone_pid.h"

#include <sys/wait.h>
#include <unistd.h>

#include <string>

#include <gtest/gtest.h>

namespace cryo {
namespace {

// A pid nobody holds right now: fork, reap, reuse its number.
pid_t FreePid() {
  pid_t p = fork();
  if (p == 0) _exit(0);
  waitpid(p, nullptr, 0);
  return p;
}

TEST(ForkWithPid, ChildGetsTheRequestedPid) {
  pid_t want = FreePid();
  int fds[2];
  ASSERT_EQ(pipe(fds), 0);
  auto r = ForkWithPid(want);
  ASSERT_TRUE(r) << r.error().what();
  if (*r == 0) {
    pid_t me = getpid();
    (void)!write(fds[1], &me, sizeof me);
    _exit(0);
  }
  close(fds[1]);
  pid_t seen = 0;
  ASSERT_EQ(read(fds[0], &seen, sizeof seen), static_cast<ssize_t>(sizeof seen));
  close(fds[0]);
  int status;
  ASSERT_EQ(waitpid(*r, &status, 0), *r);
  EXPECT_EQ(*r, want);
  EXPECT_EQ(seen, want);
}

TEST(ForkWithPid, TakenPidIsAClearError) {
  auto r = ForkWithPid(getpid());
  ASSERT_FALSE(r);
  if (r.has_value() && *r == 0) _exit(1);
  EXPECT_EQ(r.error().err(), EEXIST);
  EXPECT_EQ(r.error().message(), "pid " + std::to_string(getpid()) + " is already taken");
}

TEST(ForkWithPid, PidBeyondPidMaxFails) {
  auto r = ForkWithPid(1 << 30);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().err(), EINVAL);
}

}  // namespace
}  // namespace cryo
