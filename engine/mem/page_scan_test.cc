#include "engine/mem/page_scan.h"

#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>

#include <gtest/gtest.h>

#include "engine/mem/page_read.h"
#include "engine/mem/pagemap_flags.h"

namespace cryo {
namespace {

constexpr size_t kPage = 4096;

TEST(PageScan, FindsOnlyTouchedPages) {
  size_t len = 64 * kPage;
  auto* p = static_cast<char*>(mmap(nullptr, len, PROT_READ | PROT_WRITE,
                                    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0));
  ASSERT_NE(p, MAP_FAILED);
  p[0] = 1;
  p[1 * kPage] = 2;
  p[10 * kPage] = 3;
  volatile char sink = p[20 * kPage];  // read fault: the zero page, skipped
  (void)sink;
  auto fd = OpenPagemap(getpid()).value();
  auto base = reinterpret_cast<uint64_t>(p);
  auto runs = ScanPages(fd.get(), base, base + len, PageSelect::kAll);
  ASSERT_TRUE(runs) << runs.error().what();
  ASSERT_EQ(runs->size(), 2u);
  EXPECT_EQ((*runs)[0].start, base);
  EXPECT_EQ((*runs)[0].pages(), 2u);
  EXPECT_EQ((*runs)[1].start, base + 10 * kPage);
  EXPECT_EQ((*runs)[1].pages(), 1u);
  munmap(p, len);
}

TEST(PageScan, PrivateFileMappingKeepsOnlyCowPages) {
  char path[] = "/tmp/cryo-scan-XXXXXX";
  int fd = mkstemp(path);
  ASSERT_GE(fd, 0);
  unlink(path);
  ASSERT_EQ(ftruncate(fd, 8 * kPage), 0);
  auto* p = static_cast<char*>(mmap(nullptr, 8 * kPage, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0));
  ASSERT_NE(p, MAP_FAILED);
  for (size_t i = 0; i < 8; i++) {
    volatile char c = p[i * kPage];  // all present, file pages
    (void)c;
  }
  p[3 * kPage] = 'x';  // one private copy
  auto pm = OpenPagemap(getpid()).value();
  auto base = reinterpret_cast<uint64_t>(p);
  auto anon = ScanPages(pm.get(), base, base + 8 * kPage, PageSelect::kAnonOnly).value();
  ASSERT_EQ(anon.size(), 1u);
  EXPECT_EQ(anon[0].start, base + 3 * kPage);
  EXPECT_EQ(anon[0].pages(), 1u);
  munmap(p, 8 * kPage);
  close(fd);
}

TEST(PageScan, GuardRegionsFoundAndNotDumped) {
  size_t len = 8 * kPage;
  auto* p = static_cast<char*>(mmap(nullptr, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0));
  ASSERT_NE(p, MAP_FAILED);
  std::memset(p, 1, len);
  constexpr int kGuardInstall = 102;
  if (madvise(p + 2 * kPage, 2 * kPage, kGuardInstall) != 0) {
    munmap(p, len);
    GTEST_SKIP() << "no MADV_GUARD_INSTALL on this kernel";
  }
  auto fd = OpenPagemap(getpid()).value();
  auto base = reinterpret_cast<uint64_t>(p);
  auto guards = ScanGuards(fd.get(), base, base + len).value();
  ASSERT_EQ(guards.size(), 1u);
  EXPECT_EQ(guards[0].start, base + 2 * kPage);
  EXPECT_EQ(guards[0].end, base + 4 * kPage);
  auto runs = Subtract(ScanPages(fd.get(), base, base + len, PageSelect::kAll).value(), guards);
  ASSERT_EQ(runs.size(), 2u);
  EXPECT_EQ(runs[0].start, base);
  EXPECT_EQ(runs[0].end, base + 2 * kPage);
  EXPECT_EQ(runs[1].start, base + 4 * kPage);
  EXPECT_EQ(runs[1].end, base + len);
  munmap(p, len);
}

TEST(RemoteMemory, ReadsChildMemoryIncludingProtNone) {
  size_t len = 4 * kPage;
  auto* p = static_cast<char*>(mmap(nullptr, len, PROT_READ | PROT_WRITE,
                                    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0));
  ASSERT_NE(p, MAP_FAILED);
  for (size_t i = 0; i < len; i++) p[i] = static_cast<char>(i * 13);
  ASSERT_EQ(mprotect(p + 2 * kPage, 2 * kPage, PROT_NONE), 0);
  int ready[2];
  ASSERT_EQ(pipe(ready), 0);
  pid_t child = fork();
  if (child == 0) {
    close(ready[0]);
    (void)!write(ready[1], "r", 1);
    pause();
    _exit(0);
  }
  close(ready[1]);
  char c;
  ASSERT_EQ(read(ready[0], &c, 1), 1);
  close(ready[0]);
  auto mem = RemoteMemory::Open(child).value();
  std::vector<char> got(len);
  auto base = reinterpret_cast<uint64_t>(p);
  PageRun runs[] = {{base, base + 2 * kPage}, {base + 2 * kPage, base + 4 * kPage}};
  // The second run is PROT_NONE: process_vm_readv fails there and the
  // reader falls back to /proc/PID/mem.
  auto r = mem.ReadRuns(runs, got.data(), /*readable=*/true);
  kill(child, SIGKILL);
  waitpid(child, nullptr, 0);
  ASSERT_TRUE(r) << r.error().what();
  ASSERT_EQ(mprotect(p + 2 * kPage, 2 * kPage, PROT_READ), 0);
  EXPECT_EQ(std::memcmp(got.data(), p, len), 0);
  munmap(p, len);
}

}  // namespace
}  // namespace cryo
