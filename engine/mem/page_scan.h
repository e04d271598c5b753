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
// mapping reads as zeros anyway.
Result<std::vector<PageRun>> ScanPages(int pagemap_fd, uint64_t start, uint64_t end,
                                       PageSelect select);

}  // namespace cryo
