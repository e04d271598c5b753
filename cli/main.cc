// cryo: checkpoint/restore for Linux processes, with CRIU's command line.
// Also installed under the name `criu`; it behaves the same either way.
#include <fcntl.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <algorithm>
#include <string>
#include <vector>

#include "cli/commands.h"
#include "cli/parse.h"
#include "engine/base/files.h"
#include "engine/mem/track_keeper.h"

namespace cryo {
namespace {

int Fail(const std::string& msg) {
  std::fprintf(stderr, "cryo: %s\n", msg.c_str());
  return 1;
}

// Config files: the default ones and $CRIU_CONFIG_FILE may be absent; one
// named with --config must be there.
Result<std::vector<ConfigText>> LoadConfigs(const std::vector<std::string>& args) {
  std::vector<ConfigText> out;
  const char* env = std::getenv("CRIU_CONFIG_FILE");
  std::vector<std::string> explicit_files;
  for (size_t i = 0; i + 1 < args.size(); i++)
    if (args[i] == "--config") explicit_files.push_back(args[i + 1]);
  for (const std::string& path : ConfigFilesFor(args, env, std::getenv("HOME"))) {
    auto text = ReadFile(path, 1 << 20);
    if (!text) {
      bool required = std::find(explicit_files.begin(), explicit_files.end(), path) !=
                      explicit_files.end();
      if (required || text.error().err() != ENOENT)
        return std::unexpected(text.error().context("config file"));
      continue;
    }
    out.push_back({path, std::move(*text)});
  }
  return out;
}

// -o FILE goes in the work dir (an absolute FILE stays as it is); without
// -o the log goes to stderr.
Result<Log> OpenLog(const Options& o) {
  if (o.log_file.empty()) return Log(STDERR_FILENO, o.log_level, /*owned=*/false);
  std::string path = o.log_file;
  if (path.front() != '/') path = o.WorkDir() + "/" + path;
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_APPEND, 0600);
  if (fd < 0) return ErrnoError("open log file {}", path);
  return Log(fd, o.log_level, /*owned=*/true);
}

Result<int> Dispatch(const Options& o, Log& log) {
  const std::string& c = o.command;
  if (c == "check") return RunCheck(o, log);
  if (c == "show") return RunShow(o, log);
  if (c == "dump" || c == "pre-dump") return RunDump(o, log);
  if (c == "restore") return RunRestore(o, log);
  if (c == "swrk") return RunSwrk(o, log);
  if (c == "service") return RunService(o, log);
  if (c == "page-server") return RunPageServer(o, log);
  if (c == "lazy-pages") return RunLazyPages(o, log);
  if (c == "dedup") return RunDedup(o, log);
  if (c == "cpuinfo") return RunCpuinfo(o, log);
  // ParseOptions accepts only the commands above.
  return MakeError(EINVAL, "unknown command {}", c);
}

int Main(int argc, char** argv) {
  // The memory tracking keeper a pre-dump started (mem/track_keeper.h).
  if (argc == 2 && std::string_view(argv[1]) == kKeeperArg) return RunTrackKeeper(3);
  std::vector<std::string> args(argv + 1, argv + argc);
  auto configs = LoadConfigs(args);
  if (!configs) return Fail(configs.error().what());
  auto opts = ParseCommandLine(args, *configs);
  if (!opts) return Fail(opts.error().message());
  if (opts->command == "help") {
    std::fputs(UsageText().c_str(), stdout);
    return 0;
  }
  Log nolog;
  if (opts->command == "version") return RunVersion(*opts, nolog);
  if (auto v = ValidateOptions(*opts); !v) return Fail(v.error().message());
  auto log = OpenLog(*opts);
  if (!log) return Fail(log.error().what());
  log->Info("cryo {} ({}), {} command", kCriuMajor * 100 + kCriuMinor,
            argv[0], opts->command);
  Result<int> status = Dispatch(*opts, *log);
  if (status) return *status;
  // One line for the user; the log file, when there is one, gets it too.
  std::string line = fmt::format("{}: {}", opts->command, status.error().what());
  if (log->fd() != STDERR_FILENO) log->Error("{}", status.error().what());
  return Fail(line);
}

}  // namespace
}  // namespace cryo

int main(int argc, char** argv) { return cryo::Main(argc, argv); }
