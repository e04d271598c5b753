// The lazy-pages daemon (`cryo lazy-pages`, CRIU's uffd.c in role): it
// takes each restored process's userfaultfd from a lazy restore
// (lazy_socket.h), answers the faults on its lazy mappings with the
// dumped pages, copies the rest in behind them, and follows the process
// as it forks, moves, unmaps and discards memory (the non-cooperative
// userfaultfd events). It ends when every page is in place.
#pragma once

#include <cstdint>
#include <string>

#include "engine/base/log.h"
#include "engine/base/result.h"
#include "engine/mem/lazy_source.h"

namespace cryo {

struct LazyStats {
  uint64_t processes = 0;
  uint64_t faults = 0;      // faults answered with dumped pages
  uint64_t pages = 0;       // pages copied in, faulted or not
  uint64_t zero_pages = 0;  // faults on pages the dump did not hold
};

// Serves one restore: `listen_fd` is lazy-pages.socket (lazy::Listen),
// `images_dir` the restored images. On an error the processes it holds
// are killed: their memory cannot be completed.
Result<LazyStats> ServeLazyPages(int listen_fd, const std::string& images_dir, LazySource& source, Log& log);

}  // namespace cryo
