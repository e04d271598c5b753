#include "cli/commands.h"

namespace cryo {

Result<int> RunNotImplemented(const Options&, Log&) {
  return MakeError(ENOSYS, "not implemented yet");
}

Result<int> RunRestore(const Options& o, Log& log) { return RunNotImplemented(o, log); }

}  // namespace cryo
