// Where the lazy-pages daemon takes pages from: the images dir (a dump
// whose pages are all there, restored with --lazy-pages), or the page
// server of a lazy dump on the dumping host (PS_IOV_GET).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "engine/base/result.h"
#include "engine/base/unique_fd.h"
#include "engine/image/proto/mm.pb.h"
#include "engine/mem/page_scan.h"

namespace cryo {

// What a task of the images leaves to the daemon: the pages of its lazy
// mappings (mem/pagemap_flags.h), as the restore left them out.
struct LazyTask {
  uint32_t pages_id = 0;
  std::vector<img::pagemap_entry> pagemap;
  std::vector<PageRun> pending;  // in order, none across two mappings
  // Lazy mappings a child does not inherit the pages of (MADV_DONTFORK,
  // MADV_WIPEONFORK), as dumped.
  std::vector<PageRun> no_fork;
};
Result<LazyTask> ReadLazyTask(int images_dir, uint32_t pid);

class LazySource {
 public:
  virtual ~LazySource() = default;
  // `pages` pages of task `pid` (as the images name it) at `vaddr` (as
  // dumped) into dst.
  virtual Result<> Get(uint32_t pid, uint64_t vaddr, uint64_t pages, char* dst) = 0;
  // Every page is taken: the dumping host may let go.
  virtual Result<> Close() = 0;
};

Result<std::unique_ptr<LazySource>> LocalLazySource(const std::string& images_dir);
std::unique_ptr<LazySource> RemoteLazySource(UniqueFd page_server);

}  // namespace cryo
