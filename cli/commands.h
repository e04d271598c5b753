// One function per command; each takes the parsed options and the log and
// returns the exit status, or an error that main prints as one line. The
// CLI holds no engine logic.
#pragma once

#include "engine/base/log.h"
#include "engine/options/options.h"

namespace cryo {

// The CRIU version cryo stands in for: clients gate features on it (runc
// wants >= 3.16 for everything it uses, LXC compares the string to "2.0").
inline constexpr int kCriuMajor = 4;
inline constexpr int kCriuMinor = 2;

int RunVersion(const Options& o, Log& log);
Result<int> RunCheck(const Options& o, Log& log);
Result<int> RunShow(const Options& o, Log& log);
Result<int> RunDump(const Options& o, Log& log);
Result<int> RunRestore(const Options& o, Log& log);
// CRIU's RPC: on an inherited socket, or listening on an address.
Result<int> RunSwrk(const Options& o, Log& log);
Result<int> RunService(const Options& o, Log& log);
Result<int> RunPageServer(const Options& o, Log& log);
Result<int> RunLazyPages(const Options& o, Log& log);
Result<int> RunDedup(const Options& o, Log& log);
// cpuinfo dump|check.
Result<int> RunCpuinfo(const Options& o, Log& log);
// Parses and validates, then says the command is not built yet.

}  // namespace cryo
