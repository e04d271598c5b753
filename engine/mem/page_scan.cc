#include "engine/mem/page_scan.h"

#include <fcntl.h>
#include <sys/ioctl.h>

#include <array>

#include "engine/base/files.h"

// PAGEMAP_SCAN arrived in Linux 6.7; Debian 12's headers are 6.1.
#ifndef PAGEMAP_SCAN
#define PAGE_IS_WPALLOWED (1 << 0)
#define PAGE_IS_WRITTEN (1 << 1)
#define PAGE_IS_FILE (1 << 2)
#define PAGE_IS_PRESENT (1 << 3)
#define PAGE_IS_SWAPPED (1 << 4)
#define PAGE_IS_PFNZERO (1 << 5)
#define PAGE_IS_HUGE (1 << 6)
struct page_region {
  uint64_t start;
  uint64_t end;
  uint64_t categories;
};
struct pm_scan_arg {
  uint64_t size;
  uint64_t flags;
  uint64_t start;
  uint64_t end;
  uint64_t walk_end;
  uint64_t vec;
  uint64_t vec_len;
  uint64_t max_pages;
  uint64_t category_inverted;
  uint64_t category_mask;
  uint64_t category_anyof_mask;
  uint64_t return_mask;
};
#define PAGEMAP_SCAN _IOWR('f', 16, struct pm_scan_arg)
#endif

namespace cryo {

Result<UniqueFd> OpenPagemap(pid_t pid) {
  return Open(fmt::format("/proc/{}/pagemap", pid), O_RDONLY);
}

Result<std::vector<PageRun>> ScanPages(int pagemap_fd, uint64_t start, uint64_t end,
                                       PageSelect select) {
  std::vector<PageRun> runs;
  std::array<page_region, 512> vec;
  uint64_t at = start;
  while (at < end) {
    pm_scan_arg arg{};
    arg.size = sizeof arg;
    arg.start = at;
    arg.end = end;
    arg.vec = reinterpret_cast<uint64_t>(vec.data());
    arg.vec_len = vec.size();
    arg.category_anyof_mask = PAGE_IS_PRESENT | PAGE_IS_SWAPPED;
    arg.return_mask = PAGE_IS_PRESENT | PAGE_IS_SWAPPED | PAGE_IS_FILE | PAGE_IS_PFNZERO;
    long n = ::ioctl(pagemap_fd, PAGEMAP_SCAN, &arg);
    if (n < 0) return ErrnoError("PAGEMAP_SCAN {:#x}-{:#x}", at, end);
    for (long i = 0; i < n; i++) {
      const page_region& r = vec[static_cast<size_t>(i)];
      bool swapped = r.categories & PAGE_IS_SWAPPED;
      if (!swapped && (r.categories & PAGE_IS_PFNZERO)) continue;
      if (select == PageSelect::kAnonOnly && !swapped && (r.categories & PAGE_IS_FILE)) continue;
      if (!runs.empty() && runs.back().end == r.start)
        runs.back().end = r.end;
      else
        runs.push_back({r.start, r.end});
    }
    if (arg.walk_end <= at) break;  // no progress: the kernel saw nothing more
    at = arg.walk_end;
  }
  return runs;
}

}  // namespace cryo
