#include "engine/mem/pagemap_flags.h"

#include <sys/mman.h>

#include <algorithm>

namespace cryo {
namespace {

// vma_entry status bits (CRIU's VMA_AREA_*).
constexpr uint32_t kVsyscall = 1u << 2, kVdso = 1u << 3, kAnonPrivate = 1u << 9, kVvar = 1u << 12;

void Append(std::vector<PageRun>& out, uint64_t start, uint64_t end) {
  if (start >= end) return;
  if (!out.empty() && out.back().end == start)
    out.back().end = end;
  else
    out.push_back({start, end});
}

}  // namespace

uint32_t PagemapFlags(const img::pagemap_entry& e) {
  if (e.has_flags()) return e.flags();
  return e.in_parent() ? kPeParent : kPePresent;
}

uint64_t PagemapPages(const img::pagemap_entry& e) { return e.has_nr_pages_64() ? e.nr_pages_64() : e.nr_pages(); }

bool IsLazyVma(const img::vma_entry& v) {
  return (v.status() & kAnonPrivate) && !(v.status() & (kVdso | kVvar | kVsyscall)) && (v.flags() & MAP_PRIVATE) &&
         (v.flags() & MAP_ANONYMOUS) && !(v.flags() & MAP_HUGETLB) && v.prot() != PROT_NONE && v.start() < v.end();
}

std::vector<PageRun> LazyRanges(const img::mm_entry& mm) {
  std::vector<PageRun> out;
  for (const auto& v : mm.vmas())
    if (IsLazyVma(v)) Append(out, v.start(), v.end());
  return out;
}

std::vector<PageRun> EntryRuns(const std::vector<img::pagemap_entry>& pagemap) {
  std::vector<PageRun> out;
  for (const auto& e : pagemap) {
    uint64_t n = PagemapPages(e);
    if (n == 0 || n > (UINT64_MAX - e.vaddr()) / kPageBytes) continue;
    if (!out.empty() && e.vaddr() < out.back().end) continue;  // out of order: PageChain says so
    Append(out, e.vaddr(), e.vaddr() + n * kPageBytes);
  }
  return out;
}

std::vector<PageRun> Intersect(const std::vector<PageRun>& a, const std::vector<PageRun>& b) {
  std::vector<PageRun> out;
  size_t i = 0, j = 0;
  while (i < a.size() && j < b.size()) {
    uint64_t s = std::max(a[i].start, b[j].start), e = std::min(a[i].end, b[j].end);
    if (s < e) Append(out, s, e);
    if (a[i].end < b[j].end)
      i++;
    else
      j++;
  }
  return out;
}

std::vector<PageRun> Subtract(const std::vector<PageRun>& a, const std::vector<PageRun>& b) {
  std::vector<PageRun> out;
  size_t j = 0;
  for (PageRun r : a) {
    uint64_t at = r.start;
    while (j < b.size() && b[j].end <= at) j++;
    for (size_t k = j; k < b.size() && b[k].start < r.end; k++) {
      Append(out, at, std::max(at, b[k].start));
      at = std::max(at, b[k].end);
    }
    Append(out, at, r.end);
  }
  return out;
}

}  // namespace cryo
