#include "engine/restore/file_owner.h"

#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <gtest/gtest.h>

namespace cryo {
namespace {

constexpr int kGetOwnerUids = 17;

TEST(FileOwner, FindsTheOwnerAndAsyncFlagsOfAnEntry) {
  img::file_entry e;
  e.set_type(img::REG);
  e.set_id(3);
  auto* r = e.mutable_reg();
  r->set_flags(O_RDWR);
  EXPECT_FALSE(EntryOwner(e));
  EXPECT_FALSE(EntryAsyncFlags(e));
  r->mutable_fown()->set_pid(0);
  r->mutable_fown()->set_signum(0);
  EXPECT_FALSE(EntryOwner(e)) << "an all-zero owner is no owner";
  r->mutable_fown()->set_signum(SIGUSR2);
  ASSERT_TRUE(EntryOwner(e));
  EXPECT_EQ(EntryOwner(e)->signum(), static_cast<uint32_t>(SIGUSR2));
  r->set_flags(O_RDWR | O_ASYNC | O_NONBLOCK);
  ASSERT_TRUE(EntryAsyncFlags(e));
  EXPECT_EQ(*EntryAsyncFlags(e), static_cast<uint32_t>(O_RDWR | O_ASYNC | O_NONBLOCK));
}

TEST(FileOwner, SetsTheOwnerWithItsUidsAndGivesCryosBack) {
  if (::geteuid() != 0) GTEST_SKIP() << "needs root: the owner's uids are taken for the call";
  int p[2];
  ASSERT_EQ(::pipe(p), 0);
  img::fown_entry f;
  f.set_uid(0);
  f.set_euid(65534);
  f.set_signum(SIGRTMIN + 1);
  f.set_pid_type(F_OWNER_PID);
  f.set_pid(12345);  // the dumped pid: SetFileOwner takes the host's
  auto r = SetFileOwner(p[0], f, ::getpid());
  ASSERT_TRUE(r) << r.error().message();
  f_owner_ex o{};
  ASSERT_EQ(::fcntl(p[0], F_GETOWN_EX, &o), 0);
  EXPECT_EQ(o.type, F_OWNER_PID);
  EXPECT_EQ(o.pid, ::getpid());
  EXPECT_EQ(::fcntl(p[0], F_GETSIG), SIGRTMIN + 1);
  uint32_t uids[2] = {9, 9};
  ASSERT_EQ(::fcntl(p[0], kGetOwnerUids, uids), 0);
  EXPECT_EQ(uids[0], 0u);
  EXPECT_EQ(uids[1], 65534u);
  uid_t ru, eu, su;
  ASSERT_EQ(::getresuid(&ru, &eu, &su), 0);
  EXPECT_EQ(ru, 0u);
  EXPECT_EQ(eu, 0u);
  EXPECT_EQ(su, 0u);
  ::close(p[0]);
  ::close(p[1]);
}

}  // namespace
}  // namespace cryo
