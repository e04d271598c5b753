// Finding the pages of a process worth dumping: present or swapped pages,
// from PAGEMAP_SCAN (one ioctl per range instead of 8 bytes per page read
// from /proc/PID/pagemap).
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <vector>

#include "engine/base/result.h"
#include "engine/base/unique_fd.h"

namespace cryo {

struct PageRun {
  uint64_t start;  // page aligned
  uint64_t end;    // exclusive, page aligned
  // Write-tracked (uffd_wp.h) and not written since it was last protected.
  bool clean = false;
  uint64_t pages() const { return (end - start) >> 12; }
};

enum class PageSelect {
  // Everything present or swapped (private anonymous memory).
  kAll,
  // Only pages that stopped being the file's: anonymous CoW copies in a
  // private file mapping, and swapped ones. Clean file pages are re-read
  // from the file on restore.
  kAnonOnly,
};

// Opens /proc/PID/pagemap for scanning.
Result<UniqueFd> OpenPagemap(pid_t pid);

// Runs of pages in [start, end) selected by `select`, in address order,
// adjacent runs merged. The zero page (never written) is skipped: a fresh
// mapping reads as zeros anyway. With `tracked`, runs also say whether
// they are clean (write-tracked and untouched since the last protect);
// runs merge only with runs alike.
Result<std::vector<PageRun>> ScanPages(int pagemap_fd, uint64_t start, uint64_t end,
                                       PageSelect select, bool tracked = false);

// Guard regions (madvise MADV_GUARD_INSTALL) in [start, end), in address
// order; empty where the kernel's PAGEMAP_SCAN cannot tell them (before
// Linux 6.14).
Result<std::vector<PageRun>> ScanGuards(int pagemap_fd, uint64_t start, uint64_t end);

// Write-protects the present pages of [start, end) in the VMAs
// registered for asynchronous write tracking (the others are left alone):
// from now on a write to one marks it written. Holes are not protected, so
// a sparse mapping gets no page tables for them; a page that appears in
// one later, or comes back from swap, is never clean.
Result<> ProtectPages(int pagemap_fd, uint64_t start, uint64_t end);

}  // namespace cryo
