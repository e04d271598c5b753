#include "cli/action_scripts.h"

#include <fcntl.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

namespace cryo {

Result<> ScriptNotifier::Notify(std::string_view script, pid_t pid) {
  if (script == "query-ext-files") return {};  // CRIU asks only RPC clients
  for (const auto& s : scripts_) {
    std::string action = "CRTOOLS_SCRIPT_ACTION=" + std::string(script);
    std::string dir = "CRTOOLS_IMAGE_DIR=" + images_dir_;
    std::string init = "CRTOOLS_INIT_PID=" + std::to_string(pid);
    pid_t child = ::fork();
    if (child < 0) return ErrnoError("fork for action script");
    if (child == 0) {
      ::putenv(action.data());
      ::putenv(dir.data());
      if (pid > 0) ::putenv(init.data());
      // The script gets stdio and nothing else of cryo's.
      ::close_range(3, ~0U, 0);
      ::execl("/bin/sh", "sh", "-c", s.c_str(), static_cast<char*>(nullptr));
      ::_exit(127);
    }
    int status = 0;
    while (::waitpid(child, &status, 0) < 0)
      if (errno != EINTR) return ErrnoError("wait for action script");
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
      return MakeError(ECANCELED, "action script '{}' failed at {} (status {:#x})", s, script, status);
    log_->Debug("action script '{}' ran at {}", s, script);
  }
  return {};
}

}  // namespace cryo
