#include "engine/dump/file_remap.h"

#include <fcntl.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include "engine/base/unique_fd.h"

namespace cryo {
namespace {

constexpr uint64_t kPage = 4096;

// A sparse file: data at pages 1 and 5-6 of 10.
UniqueFd SparseFile() {
  char dir[] = "/tmp/cryo-remap-XXXXXX";
  if (!::mkdtemp(dir)) return UniqueFd();
  UniqueFd fd(::open(dir, O_RDWR | O_TMPFILE, 0600));
  ::rmdir(dir);
  std::string page(kPage, 'x');
  for (uint64_t p : {1, 5, 6})
    if (::pwrite(fd.get(), page.data(), kPage, static_cast<off_t>(p * kPage)) != static_cast<ssize_t>(kPage))
      return UniqueFd();
  if (::ftruncate(fd.get(), 10 * kPage) != 0 || ::fsync(fd.get()) != 0) return UniqueFd();
  return fd;
}

// Holes where the filesystem keeps them; adjacent ranges may be split.
void ExpectDataAt(const std::vector<DataRange>& got, uint64_t size) {
  std::vector<bool> data(size / kPage, false);
  for (const auto& r : got) {
    ASSERT_EQ(r.off % kPage, 0u);
    ASSERT_LE(r.off + r.len, size);
    for (uint64_t p = r.off / kPage; p < (r.off + r.len + kPage - 1) / kPage; p++) data[p] = true;
  }
  if (got.size() == 1 && got[0].off == 0 && got[0].len == size) GTEST_SKIP() << "no holes on this filesystem";
  EXPECT_EQ(data, (std::vector<bool>{false, true, false, false, false, true, true, false, false, false}));
}

TEST(DataRanges, SeekFindsOnlyData) {
  UniqueFd fd = SparseFile();
  ASSERT_TRUE(fd) << "temporary file";
  auto r = DataRanges(fd.get(), 10 * kPage, false);
  ASSERT_TRUE(r) << r.error().what();
  ExpectDataAt(*r, 10 * kPage);
}

TEST(DataRanges, FiemapFindsOnlyData) {
  UniqueFd fd = SparseFile();
  ASSERT_TRUE(fd) << "temporary file";
  auto r = DataRanges(fd.get(), 10 * kPage, true);
  ASSERT_TRUE(r) << r.error().what();
  ExpectDataAt(*r, 10 * kPage);
}

TEST(DataRanges, StopsAtTheSize) {
  UniqueFd fd = SparseFile();
  ASSERT_TRUE(fd) << "temporary file";
  for (bool fiemap : {false, true}) {
    auto r = DataRanges(fd.get(), 5 * kPage + 100, fiemap);
    ASSERT_TRUE(r) << r.error().what();
    for (const auto& d : *r) EXPECT_LE(d.off + d.len, 5 * kPage + 100);
  }
}

TEST(StripDeleted, CutsTheSuffixOnly) {
  std::string a = "/x/y (deleted)", b = "/x/y";
  EXPECT_TRUE(StripDeleted(a));
  EXPECT_EQ(a, "/x/y");
  EXPECT_FALSE(StripDeleted(b));
  EXPECT_EQ(b, "/x/y");
}

}  // namespace
}  // namespace cryo
