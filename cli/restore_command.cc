#include <sys/wait.h>

#include <cstdio>

#include "cli/action_scripts.h"
#include "cli/commands.h"
#include "engine/base/files.h"
#include "engine/image/image_dir.h"
#include "engine/image/image_writer.h"
#include "engine/restore/restore.h"

namespace cryo {

Result<int> RunRestore(const Options& o, Log& log) {
  ScriptNotifier scripts(o.action_scripts, o.images_dir, log);
  Restored r = CRYO_TRY(Restore(o, log, o.action_scripts.empty() ? nullptr : &scripts));
  if (!o.pidfile.empty()) CRYO_TRY(WriteFile(o.pidfile, fmt::format("{}", r.pid), 0644));
  if (auto work = OpenImageDir(o.WorkDir())) {
    img::stats_entry se;
    *se.mutable_restore() = r.stats;
    if (auto w = WriteSingleEntryImage(work->get(), ImageKind::kStatsRestore, 0, se); !w)
      log.Warn("stats-restore: {}", w.error().what());
  }
  if (o.display_stats) {
    std::printf("Displaying restore stats:\n");
    std::printf("Forking time: %u us\n", r.stats.forking_time());
    std::printf("Restore time: %u us\n", r.stats.restore_time());
    std::printf("Pages restored: %lu\n", static_cast<unsigned long>(r.stats.pages_restored()));
  }
  // A sibling is cryo's parent's child: only that parent can wait for it.
  if (o.restore_detached || o.restore_sibling) return 0;
  // Like CRIU without -d: stay the parent and end as the restored task ends.
  int status;
  while (::waitpid(r.pid, &status, 0) < 0) {
    if (errno != EINTR) return ErrnoError("wait for {}", r.pid);
  }
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  return 128 + WTERMSIG(status);
}

}  // namespace cryo
