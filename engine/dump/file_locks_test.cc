#include "engine/dump/file_locks.h"

#include <fcntl.h>
#include <gtest/gtest.h>

namespace cryo {
namespace {

TEST(ParseFdLocks, ReadsEachKind) {
  std::string_view text =
      "pos:\t0\nflags:\t02\nmnt_id:\t20\nino:\t1182\n"
      "lock:\t1: FLOCK  ADVISORY  WRITE 1234 00:2e:1182 0 EOF\n"
      "lock:\t2: POSIX  ADVISORY  READ 1234 00:2e:1182 200 299\n"
      "lock:\t3: POSIX  ADVISORY  WRITE 999 00:2e:1182 0 99\n"
      "lock:\t4: OFDLCK ADVISORY  WRITE -1 00:2e:1182 10 19\n";
  auto locks = ParseFdLocks(text, 1234, 5);
  ASSERT_TRUE(locks) << locks.error().what();
  ASSERT_EQ(locks->size(), 3u);  // the POSIX lock of pid 999 is not ours
  EXPECT_EQ((*locks)[0].flag(), kLockFlock);
  EXPECT_EQ((*locks)[0].type(), static_cast<uint32_t>(F_WRLCK));
  EXPECT_EQ((*locks)[0].len(), 0);  // to EOF
  EXPECT_EQ((*locks)[1].flag(), kLockPosix);
  EXPECT_EQ((*locks)[1].type(), static_cast<uint32_t>(F_RDLCK));
  EXPECT_EQ((*locks)[1].start(), 200);
  EXPECT_EQ((*locks)[1].len(), 100);
  EXPECT_EQ((*locks)[2].flag(), kLockOfd);
  EXPECT_EQ((*locks)[2].start(), 10);
  EXPECT_EQ((*locks)[2].len(), 10);
  for (const auto& l : *locks) {
    EXPECT_EQ(l.pid(), 1234);
    EXPECT_EQ(l.fd(), 5);
  }
}

TEST(ParseFdLocks, ReadsLeasesAndTheTypeABreakingOneGoesTo) {
  auto locks = ParseFdLocks(
      "lock:\t1: LEASE  ACTIVE    READ  1234 00:2e:1182 0 EOF\n"
      "lock:\t2: LEASE  BREAKING  UNLCK 77 00:2e:1182 0 EOF\n"
      "lock:\t3: LEASE  BREAKING  READ  77 00:2e:1182 0 EOF\n",
      1234, 3);
  ASSERT_TRUE(locks) << locks.error().what();
  ASSERT_EQ(locks->size(), 3u);  // whoever set it: the description's
  EXPECT_EQ((*locks)[0].flag(), kLockLease);
  EXPECT_EQ((*locks)[0].type(), static_cast<uint32_t>(F_RDLCK));
  EXPECT_EQ((*locks)[1].type(), F_UNLCK | kLeaseBreaking);
  EXPECT_EQ((*locks)[2].type(), F_RDLCK | kLeaseBreaking);
  EXPECT_EQ((*locks)[2].pid(), 1234);
}

TEST(ParseFdLocks, RefusesWhatItCannotRestore) {
  EXPECT_FALSE(ParseFdLocks("lock:\t1: LEASE  BREAKER   READ 1234 00:2e:1182 0 EOF\n", 1234, 3));
  EXPECT_FALSE(ParseFdLocks("lock:\t1: LEASE  ACTIVE    UNLCK 1234 00:2e:1182 0 EOF\n", 1234, 3));
  EXPECT_FALSE(ParseFdLocks("lock:\t1: POSIX  MANDATORY WRITE 1234 00:2e:1182 0 EOF\n", 1234, 3));
  EXPECT_FALSE(ParseFdLocks("lock:\t1: POSIX\n", 1234, 3));
}

}  // namespace
}  // namespace cryo
