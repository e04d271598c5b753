#include "engine/mem/uffd_wp.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <vector>

#include <gtest/gtest.h>

#include "engine/base/unique_fd.h"
#include "engine/kernel/features.h"
#include "engine/mem/page_scan.h"

namespace cryo {
namespace {

constexpr size_t kPage = 4096;

UniqueFd NewUffd() { return UniqueFd(static_cast<int>(::syscall(SYS_userfaultfd, O_CLOEXEC | O_NONBLOCK))); }

// (first page, pages, clean) of each run, relative to base.
std::vector<std::tuple<uint64_t, uint64_t, bool>> Relative(const std::vector<PageRun>& runs, uint64_t base) {
  std::vector<std::tuple<uint64_t, uint64_t, bool>> out;
  for (const auto& r : runs) out.emplace_back((r.start - base) / kPage, r.pages(), r.clean);
  return out;
}

class UffdWp : public ::testing::Test {
 protected:
  void SetUp() override {
    KernelFeatures k = ProbeKernelFeatures();
    if (!k.MemTrack()) GTEST_SKIP() << "this kernel has no PAGEMAP_SCAN with asynchronous uffd write protect";
  }
};

TEST_F(UffdWp, WritesAfterProtectAreSeen) {
  size_t len = 16 * kPage;
  auto* p = static_cast<char*>(mmap(nullptr, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0));
  ASSERT_NE(p, MAP_FAILED);
  for (size_t i = 0; i < 8; i++) p[i * kPage] = static_cast<char>(i + 1);
  auto base = reinterpret_cast<uint64_t>(p);
  UniqueFd uffd = NewUffd();
  ASSERT_TRUE(uffd.valid());
  ASSERT_TRUE(EnableAsyncWp(uffd.get()));
  auto reg = RegisterWp(uffd.get(), base, base + len);
  ASSERT_TRUE(reg) << reg.error().what();
  UniqueFd pm = OpenPagemap(getpid()).value();
  // Registered but never protected: nothing is clean yet.
  auto before = ScanPages(pm.get(), base, base + len, PageSelect::kAll, true).value();
  EXPECT_EQ(Relative(before, base), (std::vector<std::tuple<uint64_t, uint64_t, bool>>{{0, 8, false}}));
  ASSERT_TRUE(ProtectPages(pm.get(), base, base + len));
  auto protected_ = ScanPages(pm.get(), base, base + len, PageSelect::kAll, true).value();
  EXPECT_EQ(Relative(protected_, base), (std::vector<std::tuple<uint64_t, uint64_t, bool>>{{0, 8, true}}));
  p[3 * kPage + 100] = 'w';   // written
  p[10 * kPage] = 'n';        // a new page in a hole
  ASSERT_EQ(madvise(p + 5 * kPage, kPage, MADV_DONTNEED), 0);
  volatile char sink = p[5 * kPage];  // the zero page now: skipped
  (void)sink;
  auto after = ScanPages(pm.get(), base, base + len, PageSelect::kAll, true).value();
  EXPECT_EQ(Relative(after, base), (std::vector<std::tuple<uint64_t, uint64_t, bool>>{
                                       {0, 3, true}, {3, 1, false}, {4, 1, true}, {6, 2, true}, {10, 1, false}}));
  // Untracked scans keep merging everything.
  auto plain = ScanPages(pm.get(), base, base + len, PageSelect::kAll).value();
  EXPECT_EQ(Relative(plain, base), (std::vector<std::tuple<uint64_t, uint64_t, bool>>{
                                       {0, 5, false}, {6, 2, false}, {10, 1, false}}));
  munmap(p, len);
}

TEST_F(UffdWp, UnregisteredMemoryIsNeverClean) {
  size_t len = 4 * kPage;
  auto* p = static_cast<char*>(mmap(nullptr, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0));
  ASSERT_NE(p, MAP_FAILED);
  for (size_t i = 0; i < 4; i++) p[i * kPage] = 1;
  auto base = reinterpret_cast<uint64_t>(p);
  UniqueFd pm = OpenPagemap(getpid()).value();
  ASSERT_TRUE(ProtectPages(pm.get(), base, base + len));  // skips what is not registered
  auto runs = ScanPages(pm.get(), base, base + len, PageSelect::kAll, true).value();
  EXPECT_EQ(Relative(runs, base), (std::vector<std::tuple<uint64_t, uint64_t, bool>>{{0, 4, false}}));
  munmap(p, len);
}

// The tracked process makes the userfaultfd; another holds it and does the
// rest, as the dumper does.
TEST_F(UffdWp, TrackedFromAnotherProcess) {
  size_t len = 8 * kPage;
  auto* p = static_cast<char*>(mmap(nullptr, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0));
  ASSERT_NE(p, MAP_FAILED);
  int to_child[2], to_parent[2];
  ASSERT_EQ(pipe(to_child), 0);
  ASSERT_EQ(pipe(to_parent), 0);
  pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    for (size_t i = 0; i < 8; i++) p[i * kPage] = 'a';
    int fd = static_cast<int>(::syscall(SYS_userfaultfd, O_CLOEXEC | O_NONBLOCK));
    if (write(to_parent[1], &fd, sizeof fd) != sizeof fd) _exit(1);
    char c;
    if (read(to_child[0], &c, 1) != 1) _exit(1);  // the parent has it now
    close(fd);
    p[6 * kPage] = 'b';
    if (write(to_parent[1], &c, 1) != 1) _exit(1);
    if (read(to_child[0], &c, 1) != 1) _exit(1);
    _exit(0);
  }
  int fd = -1;
  ASSERT_EQ(read(to_parent[0], &fd, sizeof fd), static_cast<ssize_t>(sizeof fd));
  ASSERT_GE(fd, 0);
  UniqueFd pidfd(static_cast<int>(::syscall(SYS_pidfd_open, child, 0)));
  UniqueFd uffd(static_cast<int>(::syscall(SYS_pidfd_getfd, pidfd.get(), fd, 0)));
  ASSERT_TRUE(uffd.valid());
  auto base = reinterpret_cast<uint64_t>(p);
  ASSERT_TRUE(EnableAsyncWp(uffd.get()));
  auto reg = RegisterWp(uffd.get(), base, base + len);
  ASSERT_TRUE(reg) << reg.error().what();
  UniqueFd pm = OpenPagemap(child).value();
  ASSERT_TRUE(ProtectPages(pm.get(), base, base + len));
  char c = 'g';
  ASSERT_EQ(write(to_child[1], &c, 1), 1);
  ASSERT_EQ(read(to_parent[0], &c, 1), 1);
  auto runs = ScanPages(pm.get(), base, base + len, PageSelect::kAll, true).value();
  EXPECT_EQ(Relative(runs, base), (std::vector<std::tuple<uint64_t, uint64_t, bool>>{
                                      {0, 6, true}, {6, 1, false}, {7, 1, true}}));
  ASSERT_EQ(write(to_child[1], &c, 1), 1);
  int status = 0;
  ASSERT_EQ(waitpid(child, &status, 0), child);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  munmap(p, len);
}

}  // namespace
}  // namespace cryo
