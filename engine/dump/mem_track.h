// Write tracking of the tree being dumped, for incremental dumps: which
// pages are unchanged since the parent images (pre-dump, or a dump with
// --track-mem and --leave-running), so the dump can point at them there
// (pagemap PE_PARENT) instead of copying them again. Tracking is a
// userfaultfd per task made in the task (mem/uffd_wp.h), held between runs
// by the keeper process (mem/track_keeper.h).
#pragma once

#include <sys/types.h>

#include <map>
#include <string>
#include <vector>

#include "engine/base/log.h"
#include "engine/base/result.h"
#include "engine/image/proto/mm.pb.h"
#include "engine/mem/page_scan.h"
#include "engine/mem/track_keeper.h"

namespace cryo {

class MemTracker {
 public:
  // Takes over what the keeper of `root`'s tree tracks. `parent_run_id`:
  // the run id of the parent images, empty when there are none.
  static Result<MemTracker> Begin(pid_t root, const std::string& parent_run_id, Log& log);

  // Clean pages are unchanged since the parent images: what the tracking
  // is relative to is exactly them.
  bool relative_to_parent() const { return relative_; }

  // Registers the task's private mappings for write tracking (making its
  // userfaultfd in it, when it has none yet or the one held is of memory it
  // replaced by exec) and write-protects their pages. The task is stopped;
  // call it after its pages are read. A task that cannot be tracked is
  // only warned about: its next dump copies all of its pages.
  Result<> Arm(pid_t pid, const img::mm_entry& mm);
  // Hands what is armed to the keeper, relative to `run_id` (the dump
  // just written); call it once the images are complete.
  Result<> Commit(const std::string& run_id);
  // Stops tracking the tree (its keeper exits).
  Result<> End();

 private:
  MemTracker(std::string name, Log& log) : name_(std::move(name)), log_(&log) {}
  Result<bool> RegisterAll(int uffd, pid_t pid, const img::mm_entry& mm);
  Result<> ArmTask(pid_t pid, const img::mm_entry& mm);

  std::string name_;
  Log* log_;
  bool relative_ = false;
  std::map<pid_t, TrackedTask> held_;  // from the keeper, by pid
  std::vector<TrackedTask> armed_;
};

// Mappings worth tracking: private anonymous memory, and private file
// mappings that can be written (their CoW copies). The rest never has
// pages in the pagemap, or has them dumped in full every time.
bool Trackable(const img::vma_entry& v);

}  // namespace cryo
