// Where write tracking lives between two runs of cryo. The userfaultfds
// that track a tree's memory (uffd_wp.h) must stay open from a pre-dump to
// the next dump, but cryo exits in between (runc even kills it after the
// PRE_DUMP reply), and the tree must not see an extra fd. So a small
// process of its own, the keeper ("cryo-memtrack"), holds them: one per
// tree, reached on an abstract unix socket named after the tree's root
// (pid and start time, so a recycled pid never finds it); both ends only
// talk to a peer of their own user. It lives as long
// as a tracked task does, and ends with a final dump that kills the tree.
//
// Each run asks the keeper for what it holds (Fetch), which also makes it
// forget which dump its tracking is relative to: only a run that finishes
// (Commit) names one again. A run that fails half way leaves the tracking
// meaning nothing, and the next run dumps every page.
#pragma once

#include <sys/types.h>

#include <string>
#include <vector>

#include "engine/base/result.h"
#include "engine/base/unique_fd.h"

namespace cryo {

struct TrackedTask {
  pid_t pid = 0;  // in cryo's pid namespace
  UniqueFd uffd;
  UniqueFd pidfd;
};

struct TrackedTree {
  // The run (inventory dump_criu_run_id) whose images hold every page that
  // is clean now; empty when nothing is relative to any.
  std::string run_id;
  std::vector<TrackedTask> tasks;
  bool keeper_running = false;
};

// The keeper's name for the tree rooted at `root`.
Result<std::string> KeeperName(pid_t root);

// What the keeper of that tree holds (nothing when none runs).
Result<TrackedTree> FetchTracking(const std::string& name);
// Hands the keeper (started when none runs: this very binary, again)
// what it is to hold from now on, relative to `run_id`.
Result<> CommitTracking(const std::string& name, const std::string& run_id, std::vector<TrackedTask> tasks);
// Tells the keeper, if one runs, to let go of everything and exit.
Result<> EndTracking(const std::string& name);

// The keeper itself: serves `listen_fd` until no tracked task is left.
int RunTrackKeeper(int listen_fd);
// The argument that makes cryo's main run the keeper on fd 3.
inline constexpr const char* kKeeperArg = "__memtrack-keeper";

}  // namespace cryo
