// The memory of a process: its mappings (mm-PID.img) and the pages worth
// keeping (pagemap-PID.img + pages-N.img).
#pragma once

#include <sys/types.h>

#include <functional>
#include <string>
#include <vector>

#include "engine/base/log.h"
#include "engine/base/result.h"
#include "engine/image/proto/mm.pb.h"
#include "engine/mem/page_scan.h"
#include "engine/mem/page_sink.h"

namespace cryo {

struct MemStats {
  uint64_t pages_scanned = 0;
  uint64_t pages_written = 0;
  uint64_t pages_skipped_parent = 0;
  uint64_t pages_lazy = 0;
};

// The pages of a task its parent images hold (their pagemap entries, in
// the parent or further up), in address order, merged.
using ParentCover = std::vector<PageRun>;
// Empty when the parent images have no such task.
Result<ParentCover> ReadParentCover(int parent_dir, pid_t image_pid);

// Gives the files.img id of a mapped file, registering it when new.
using FileIdFor = std::function<Result<uint32_t>(const std::string& link, const std::string& proc, bool writable)>;

// Gives the memfd inode id behind a mapping.
using MemfdIdFor = std::function<Result<uint32_t>(uint64_t start, uint64_t end, const std::string& path)>;

// Fills mm.vmas (and madvise bits) from smaps.
Result<> DumpVmas(pid_t pid, img::mm_entry& mm, const FileIdFor& file_id, const MemfdIdFor& memfd_id);
// Sends the task's pagemap (pagemap-IMAGE_PID.img; IMAGE_PID: the pid
// the dump names the task by) and pages for the VMAs in mm to `sink`.
// With `parent` (the task's memory is write-tracked relative to the
// parent images), pages clean since then that the parent holds are
// entries marked PE_PARENT, with no copy here. With `lazy`, the pages of
// lazy mappings (mem/pagemap_flags.h) are entries marked PE_LAZY, their
// bytes left for the page server of a lazy dump.
Result<MemStats> DumpPages(pid_t pid, const img::mm_entry& mm, PageSink& sink, Log& log, pid_t image_pid = 0,
                           const ParentCover* parent = nullptr, bool lazy = false);

}  // namespace cryo
