#include "cli/commands.h"

namespace cryo {

Result<int> RunNotImplemented(const Options&, Log&) {
  return MakeError(ENOSYS, "not implemented yet");
}


}  // namespace cryo
