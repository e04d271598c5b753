#include <cstdio>

#include "cli/action_scripts.h"
#include "cli/commands.h"
#include "engine/base/files.h"
#include "engine/dump/dump.h"
#include "engine/image/image_dir.h"
#include "engine/image/image_writer.h"

namespace cryo {

Result<int> RunDump(const Options& o, Log& log) {
  bool pre = o.command == "pre-dump";
  // The dump itself needs no probed feature; probing it all costs a fork.
  KernelFeatures kf = pre ? ProbeMemTrack() : KernelFeatures{};
  ScriptNotifier scripts(o.action_scripts, o.images_dir, log);
  Notifier* notify = o.action_scripts.empty() ? nullptr : &scripts;
  img::dump_stats_entry stats = CRYO_TRY(pre ? PreDump(o, kf, log, notify) : Dump(o, kf, log, notify));
  UniqueFd work = CRYO_TRY(OpenImageDir(o.WorkDir()));
  img::stats_entry se;
  *se.mutable_dump() = stats;
  CRYO_TRY(WriteSingleEntryImage(work.get(), ImageKind::kStatsDump, 0, se));
  if (!o.pidfile.empty()) CRYO_TRY(WriteFile(o.pidfile, fmt::format("{}", o.pid), 0644));
  if (o.display_stats) {
    std::printf("Displaying dump stats:\n");
    std::printf("Freezing time: %u us\n", stats.freezing_time());
    std::printf("Frozen time: %u us\n", stats.frozen_time());
    std::printf("Memory dump time: %u us\n", stats.memdump_time());
    std::printf("Memory write time: %u us\n", stats.memwrite_time());
    std::printf("Memory pages scanned: %lu\n", static_cast<unsigned long>(stats.pages_scanned()));
    std::printf("Memory pages skipped from parent: %lu\n",
                static_cast<unsigned long>(stats.pages_skipped_parent()));
    std::printf("Memory pages written: %lu\n", static_cast<unsigned long>(stats.pages_written()));
  }
  return 0;
}

}  // namespace cryo
