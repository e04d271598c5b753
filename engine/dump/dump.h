// `cryo dump`: seize a process, write all its state as CRIU images, then
// kill it (default), leave it running or leave it stopped.
#pragma once

#include "engine/base/log.h"
#include "engine/base/result.h"
#include "engine/kernel/features.h"
#include "engine/options/options.h"
#include "engine/image/proto/stats.pb.h"

namespace cryo {

Result<img::dump_stats_entry> Dump(const Options& opts, const KernelFeatures& kf, Log& log);

}  // namespace cryo
