#include <cstdio>

#include "cli/commands.h"

namespace cryo {

int RunVersion(const Options&, Log&) {
  // LXC parses "Version: %[^\n]" and needs the newline; no GitID line:
  // go-criu's version arithmetic changes when a git id is present.
  std::printf("Version: %d.%d\n", kCriuMajor, kCriuMinor);
  return 0;
}

}  // namespace cryo
