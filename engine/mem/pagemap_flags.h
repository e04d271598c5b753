// pagemap_entry flags (CRIU's PE_*), and which memory a lazy restore leaves
// to the lazy-pages daemon. Restore and the daemon must agree on the
// latter page for page: both take it from here.
#pragma once

#include <cstdint>
#include <vector>

#include "engine/image/proto/mm.pb.h"
#include "engine/mem/page_scan.h"

namespace cryo {

inline constexpr uint32_t kPeParent = 1u << 0, kPeLazy = 1u << 1, kPePresent = 1u << 2;
inline constexpr uint64_t kPageBytes = 4096;

// The flags as any CRIU wrote them: none means present (or, in old
// images, in_parent).
uint32_t PagemapFlags(const img::pagemap_entry& e);
// The page count, from nr_pages_64 when set.
uint64_t PagemapPages(const img::pagemap_entry& e);

// Private anonymous memory the process can reach (not PROT_NONE, not the
// vDSO areas): its pages are faulted in through a userfaultfd on a lazy
// restore (CRIU's vma_entry_can_be_lazy).
bool IsLazyVma(const img::vma_entry& v);
// Their address ranges, in order, adjacent ones merged.
std::vector<PageRun> LazyRanges(const img::mm_entry& mm);

// The ranges the entries cover, in order, adjacent ones merged.
std::vector<PageRun> EntryRuns(const std::vector<img::pagemap_entry>& pagemap);
// Set operations on sorted, disjoint runs.
std::vector<PageRun> Intersect(const std::vector<PageRun>& a, const std::vector<PageRun>& b);
std::vector<PageRun> Subtract(const std::vector<PageRun>& a, const std::vector<PageRun>& b);

}  // namespace cryo
