#include "engine/base/result.h"

#include <fcntl.h>

#include <gtest/gtest.h>

#include "engine/base/unique_fd.h"

namespace cryo {
namespace {

Result<int> OpenMissing() {
  int fd = ::open("/nonexistent/cryo-test", O_RDONLY);
  if (fd < 0) return ErrnoError("open {}", "/nonexistent/cryo-test");
  return fd;
}

Result<int> Outer() {
  int fd = CRYO_TRY_CTX(OpenMissing(), "load config");
  return fd;
}

Result<int> Passthrough(Result<int> r) { return CRYO_TRY(std::move(r)) + 1; }

TEST(Result, CarriesErrnoAndContextChain) {
  auto r = Outer();
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().err(), ENOENT);
  EXPECT_EQ(r.error().message(), "load config: open /nonexistent/cryo-test");
  EXPECT_EQ(r.error().what(), "load config: open /nonexistent/cryo-test: ENOENT");
}

TEST(Result, TryPassesValuesThrough) {
  EXPECT_EQ(Passthrough(41).value(), 42);
  auto e = Passthrough(MakeError(EINVAL, "bad {}", 7));
  ASSERT_FALSE(e);
  EXPECT_EQ(e.error().what(), "bad 7: EINVAL");
}

TEST(Result, ErrorWithoutErrnoHasNoSuffix) {
  EXPECT_EQ(Error(0, "plain").what(), "plain");
}

TEST(UniqueFd, ClosesOnceAndMoves) {
  int raw = ::open("/dev/null", O_RDONLY);
  ASSERT_GE(raw, 0);
  {
    UniqueFd a(raw);
    UniqueFd b(std::move(a));
    EXPECT_FALSE(a.valid());
    EXPECT_EQ(b.get(), raw);
  }
  EXPECT_EQ(::fcntl(raw, F_GETFD), -1);
  EXPECT_EQ(errno, EBADF);
}

}  // namespace
}  // namespace cryo
