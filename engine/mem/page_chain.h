// Where each page of a task comes from when its dump is incremental: a
// pagemap entry marked PE_PARENT has its pages in the parent images (the
// `parent` link of the images dir), or further up the chain. Also what
// deduplicating a chain frees.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <deque>
#include <map>
#include <string>
#include <vector>

#include "engine/base/result.h"
#include "engine/image/proto/mm.pb.h"
#include "engine/mem/page_scan.h"

namespace cryo {

// A run of a task's memory and where its bytes are.
struct PageSource {
  uint64_t vaddr = 0;
  uint64_t len = 0;     // bytes
  int file = 0;         // index into the page files
  uint64_t offset = 0;  // in that file
};

struct TaskPages {
  std::vector<std::string> files;    // absolute paths of pages-N.img files
  std::vector<PageSource> sources;  // in address order
  uint64_t pages = 0;
  // On a lazy restore: the ranges left to the lazy-pages daemon.
  std::vector<PageRun> lazy;
};

class PageChain {
 public:
  // `dir`: the dump's own images directory (absolute).
  explicit PageChain(std::string dir) : dir_(std::move(dir)) {}

  // The sources of the task's pages from its own pagemap; with `want`,
  // of those ranges only (sorted; each must be in the pagemap).
  Result<TaskPages> Resolve(uint32_t pid, uint32_t pages_id, const std::vector<img::pagemap_entry>& pagemap,
                            const std::vector<PageRun>* want = nullptr);

  // Deduplication (CRIU's dedup, --auto-dedup): the copies the parent
  // images hold of pages this dump has itself are punched out of their
  // pages files, which keep their size. The parents cannot be restored
  // on their own afterwards. Returns the pages freed.
  Result<uint64_t> Dedup(uint32_t pid, const std::vector<img::pagemap_entry>& pagemap);

 private:
  struct Entry {
    uint64_t start, end;  // bytes
    bool parent;          // PE_PARENT: one level up
    bool remote;          // PE_LAZY alone: with the dumping host's page server
    uint64_t offset;      // in the level's pages file, when not
  };
  struct Level {
    explicit Level(std::string d) : dir(std::move(d)) {}
    std::string dir;
    std::map<uint32_t, std::vector<Entry>> pagemaps;  // by pid
    std::map<uint32_t, uint32_t> pages_ids;           // by pid
  };

  static Result<std::vector<Entry>> Entries(const std::vector<img::pagemap_entry>& pagemap, const std::string& what);
  Result<const std::vector<Entry>*> PagemapAt(size_t level, uint32_t pid);
  // `partial`: what no level holds is skipped, not an error.
  Result<> Add(size_t level, uint32_t pid, uint64_t start, uint64_t end, TaskPages& out,
               std::map<std::string, int>& file_index, bool partial = false);

  std::string dir_;
  std::deque<Level> levels_;  // [0] is the dump itself; a deque: growing it moves nothing
};

// Dedup for every task pagemap of the images dir `dir`; the pages freed.
Result<uint64_t> DedupImages(const std::string& dir);

}  // namespace cryo
