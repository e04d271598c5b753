// `cryo dump`: seize a process, write all its state as CRIU images, then
// kill it (default), leave it running or leave it stopped.
#pragma once

#include "engine/base/log.h"
#include "engine/base/result.h"
#include "engine/kernel/features.h"
#include "engine/options/notify.h"
#include "engine/options/options.h"
#include "engine/image/proto/stats.pb.h"

namespace cryo {

// `notify`, when given, hears pre-dump, network-lock, query-ext-files,
// post-dump (images written; saying no resumes the tree) and
// network-unlock (a failed dump, or --leave-running).
Result<img::dump_stats_entry> Dump(const Options& opts, const KernelFeatures& kf, Log& log,
                                   Notifier* notify = nullptr);

// `cryo pre-dump`: the memory of the tree only (pagemap and pages images
// and an inventory), its writes tracked from then on, the tree left
// running. A later pre-dump or dump with this one as its parent images
// (--prev-images-dir) writes only what changed.
Result<img::dump_stats_entry> PreDump(const Options& opts, const KernelFeatures& kf, Log& log,
                                      Notifier* notify = nullptr);

}  // namespace cryo
