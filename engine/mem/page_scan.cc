#include "engine/mem/page_scan.h"

#include <fcntl.h>
#include <sys/ioctl.h>

#include <array>

#include "engine/base/files.h"
#include "engine/base/linux_compat.h"


namespace cryo {

Result<UniqueFd> OpenPagemap(pid_t pid) {
  return Open(fmt::format("/proc/{}/pagemap", pid), O_RDONLY);
}

Result<std::vector<PageRun>> ScanPages(int pagemap_fd, uint64_t start, uint64_t end,
                                       PageSelect select, bool tracked) {
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
    if (tracked) arg.return_mask |= PAGE_IS_WPALLOWED | PAGE_IS_WRITTEN;
    long n = ::ioctl(pagemap_fd, PAGEMAP_SCAN, &arg);
    if (n < 0) return ErrnoError("PAGEMAP_SCAN {:#x}-{:#x}", at, end);
    for (long i = 0; i < n; i++) {
      const page_region& r = vec[static_cast<size_t>(i)];
      bool swapped = r.categories & PAGE_IS_SWAPPED;
      if (!swapped && (r.categories & PAGE_IS_PFNZERO)) continue;
      if (select == PageSelect::kAnonOnly && !swapped && (r.categories & PAGE_IS_FILE)) continue;
      // Clean only where the VMA is tracked (outside, every page looks
      // written anyway) and the page is there: a swapped entry may also be
      // a protect marker left where a page was dropped, whose contents
      // are no longer what was dumped.
      bool clean = tracked && !swapped && (r.categories & PAGE_IS_WPALLOWED) && !(r.categories & PAGE_IS_WRITTEN);
      if (!runs.empty() && runs.back().end == r.start && runs.back().clean == clean)
        runs.back().end = r.end;
      else
        runs.push_back({r.start, r.end, clean});
    }
    if (arg.walk_end <= at) break;  // no progress: the kernel saw nothing more
    at = arg.walk_end;
  }
  return runs;
}

Result<std::vector<PageRun>> ScanGuards(int pagemap_fd, uint64_t start, uint64_t end) {
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
    arg.category_mask = PAGE_IS_GUARD;
    arg.return_mask = PAGE_IS_GUARD;
    long n = ::ioctl(pagemap_fd, PAGEMAP_SCAN, &arg);
    if (n < 0 && errno == EINVAL && runs.empty() && at == start) return runs;  // no PAGE_IS_GUARD here
    if (n < 0) return ErrnoError("PAGEMAP_SCAN for guard regions {:#x}-{:#x}", at, end);
    for (long i = 0; i < n; i++) {
      const page_region& r = vec[static_cast<size_t>(i)];
      if (!runs.empty() && runs.back().end == r.start)
        runs.back().end = r.end;
      else
        runs.push_back({r.start, r.end});
    }
    if (arg.walk_end <= at) break;
    at = arg.walk_end;
  }
  return runs;
}

Result<> ProtectPages(int pagemap_fd, uint64_t start, uint64_t end) {
  // The output buffer is what makes the kernel look at each page's
  // category: without one it protects every page of the range, holes too.
  std::array<page_region, 512> vec;
  uint64_t at = start;
  while (at < end) {
    pm_scan_arg arg{};
    arg.size = sizeof arg;
    arg.flags = PM_SCAN_WP_MATCHING;
    arg.start = at;
    arg.end = end;
    arg.vec = reinterpret_cast<uint64_t>(vec.data());
    arg.vec_len = vec.size();
    arg.category_anyof_mask = PAGE_IS_PRESENT;
    arg.return_mask = PAGE_IS_PRESENT;
    if (::ioctl(pagemap_fd, PAGEMAP_SCAN, &arg) < 0) return ErrnoError("PAGEMAP_SCAN (protect) {:#x}-{:#x}", at, end);
    if (arg.walk_end <= at) break;
    at = arg.walk_end;
  }
  return {};
}

}  // namespace cryo
