// Write tracking without soft-dirty bits: a userfaultfd of the tracked
// process in asynchronous write-protect mode (Linux 6.7). Pages protected
// through PAGEMAP_SCAN (page_scan.h) take a write fault the kernel resolves
// by itself, clearing the page's protect bit; a later scan tells which
// pages were written since. The registration lasts as long as the
// userfaultfd is open somewhere (track_keeper.h keeps it between runs),
// and it binds the memory of the process that made it: the ioctls work
// from any process holding it.
#pragma once

#include <cstdint>

#include "engine/base/result.h"

namespace cryo {

// UFFDIO_API on a fresh userfaultfd, asking asynchronous write protection
// and protect markers where anonymous memory is not populated (without
// which PAGEMAP_SCAN does not track anonymous mappings at all).
Result<> EnableAsyncWp(int uffd);
// UFFDIO_REGISTER [start, end) in write-protect mode; an already
// registered range is registered again (a no-op).
Result<> RegisterWp(int uffd, uint64_t start, uint64_t end);

}  // namespace cryo
