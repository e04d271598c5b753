// --action-script: each script runs at every notification of a dump or
// restore (sh -c SCRIPT) with CRTOOLS_SCRIPT_ACTION (the notification's
// name), CRTOOLS_IMAGE_DIR and, where there is one, CRTOOLS_INIT_PID set,
// as CRIU runs them. A script that fails stops the operation there.
#pragma once

#include <string>
#include <vector>

#include "engine/base/log.h"
#include "engine/options/notify.h"

namespace cryo {

class ScriptNotifier : public Notifier {
 public:
  ScriptNotifier(std::vector<std::string> scripts, std::string images_dir, Log& log)
      : scripts_(std::move(scripts)), images_dir_(std::move(images_dir)), log_(&log) {}
  Result<> Notify(std::string_view script, pid_t pid) override;

 private:
  std::vector<std::string> scripts_;
  std::string images_dir_;
  Log* log_;
};

}  // namespace cryo
