#include "engine/mem/pagemap_flags.h"

#include <sys/mman.h>

#include <gtest/gtest.h>

namespace cryo {
namespace {

constexpr uint64_t P = kPageBytes;

std::vector<std::pair<uint64_t, uint64_t>> Pairs(const std::vector<PageRun>& rs) {
  std::vector<std::pair<uint64_t, uint64_t>> out;
  for (const auto& r : rs) out.emplace_back(r.start / P, r.end / P);
  return out;
}

TEST(PagemapFlags, AbsentFlagsMeanPresentOrLegacyParent) {
  img::pagemap_entry e;
  e.set_vaddr(0);
  e.set_nr_pages(3);
  EXPECT_EQ(PagemapFlags(e), kPePresent);
  EXPECT_EQ(PagemapPages(e), 3u);
  e.set_in_parent(true);
  EXPECT_EQ(PagemapFlags(e), kPeParent);
  e.set_flags(kPeLazy);
  e.set_nr_pages_64(1ULL << 33);
  EXPECT_EQ(PagemapFlags(e), kPeLazy);
  EXPECT_EQ(PagemapPages(e), 1ULL << 33);
}

TEST(PagemapFlags, IntersectAndSubtract) {
  std::vector<PageRun> a = {{0, 10 * P}, {20 * P, 30 * P}};
  std::vector<PageRun> b = {{5 * P, 22 * P}, {25 * P, 26 * P}, {29 * P, 40 * P}};
  using V = std::vector<std::pair<uint64_t, uint64_t>>;
  EXPECT_EQ(Pairs(Intersect(a, b)), (V{{5, 10}, {20, 22}, {25, 26}, {29, 30}}));
  EXPECT_EQ(Pairs(Subtract(a, b)), (V{{0, 5}, {22, 25}, {26, 29}}));
  EXPECT_EQ(Pairs(Subtract(a, {})), (V{{0, 10}, {20, 30}}));
  EXPECT_TRUE(Intersect(a, {}).empty());
  // Together they cover a exactly.
  auto in = Intersect(a, b), out = Subtract(a, b);
  uint64_t n = 0;
  for (const auto& r : in) n += r.pages();
  for (const auto& r : out) n += r.pages();
  EXPECT_EQ(n, 20u);
}

TEST(PagemapFlags, LazyMappingsArePrivateAnonymousReachableMemory) {
  img::mm_entry mm;
  auto add = [&](uint64_t s, uint64_t e, uint32_t prot, uint32_t flags, uint32_t status) {
    auto* v = mm.add_vmas();
    v->set_start(s * P);
    v->set_end(e * P);
    v->set_prot(prot);
    v->set_flags(flags);
    v->set_status(status);
  };
  constexpr uint32_t kRegular = 1, kAnonPrivate = 1u << 9, kVdso = 1u << 3, kFilePrivate = 1u << 6,
                     kAnonShared = 1u << 8;
  add(0, 4, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, kRegular | kAnonPrivate);
  add(4, 8, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, kRegular | kAnonPrivate);     // adjacent: merged
  add(8, 9, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, kRegular | kAnonPrivate);     // a guard page
  add(9, 12, PROT_READ | PROT_WRITE, MAP_PRIVATE, kRegular | kFilePrivate);         // a file's
  add(12, 14, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, kRegular | kAnonShared);
  add(14, 15, PROT_READ | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS, kRegular | kVdso);
  add(20, 22, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, kRegular | kAnonPrivate);
  using V = std::vector<std::pair<uint64_t, uint64_t>>;
  EXPECT_EQ(Pairs(LazyRanges(mm)), (V{{0, 8}, {20, 22}}));
}

TEST(PagemapFlags, EntryRunsMergeAdjacentEntries) {
  std::vector<img::pagemap_entry> pm(3);
  pm[0].set_vaddr(0);
  pm[0].set_nr_pages(2);
  pm[1].set_vaddr(2 * P);
  pm[1].set_nr_pages(1);
  pm[1].set_flags(kPeParent);
  pm[2].set_vaddr(10 * P);
  pm[2].set_nr_pages(1);
  pm[2].set_flags(kPeLazy);
  using V = std::vector<std::pair<uint64_t, uint64_t>>;
  EXPECT_EQ(Pairs(EntryRuns(pm)), (V{{0, 3}, {10, 11}}));
}

}  // namespace
}  // namespace cryo
