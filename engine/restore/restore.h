// `cryo restore`: bring a dumped process back with its pid, memory, files,
// registers and the rest, then let it run. A restore that fails kills what
// it created and leaves the images as they were.
#pragma once

#include <sys/types.h>

#include "engine/base/log.h"
#include "engine/base/result.h"
#include "engine/image/proto/stats.pb.h"
#include "engine/options/notify.h"
#include "engine/options/options.h"

namespace cryo {

struct Restored {
  pid_t pid = 0;
  img::restore_stats_entry stats;
};

// `notify`, when given, hears pre-restore, setup-namespaces (root pid),
// post-setup-namespaces, post-restore (root pid; all built, none running),
// network-unlock, pre-resume and post-resume.
Result<Restored> Restore(const Options& opts, Log& log, Notifier* notify = nullptr);

}  // namespace cryo
