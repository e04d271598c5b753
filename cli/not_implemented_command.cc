#include <cstdio>

#include "cli/commands.h"

namespace cryo {

int RunNotImplemented(const Options& o, Log& log) {
  log.Error("{}: not implemented yet", o.command);
  std::fprintf(stderr, "cryo: %s: not implemented yet\n", o.command.c_str());
  return 1;
}

int RunDump(const Options& o, Log& log) { return RunNotImplemented(o, log); }
int RunRestore(const Options& o, Log& log) { return RunNotImplemented(o, log); }

}  // namespace cryo
