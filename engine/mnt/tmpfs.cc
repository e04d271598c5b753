#include "engine/mnt/tmpfs.h"

#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <string>
#include <vector>

#include "engine/base/unique_fd.h"

namespace cryo::mnt {
namespace {

// Runs tar with `in` as its stdin, `out` as its stdout and `dir` as fd 3;
// its first line of complaint becomes the error.
Result<> RunTar(const std::vector<std::string>& args, int in, int out, int dir) {
  std::vector<char*> argv;
  for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  int err[2];
  if (::pipe2(err, O_CLOEXEC) != 0) return ErrnoError("pipe");
  UniqueFd err_r(err[0]), err_w(err[1]);
  pid_t child = ::fork();
  if (child < 0) return ErrnoError("fork tar");
  if (child == 0) {
    // Only system calls from here: this is a copy of cryo.
    int null = ::open("/dev/null", O_RDWR);
    if (::dup2(in >= 0 ? in : null, 0) < 0 || ::dup2(out >= 0 ? out : null, 1) < 0 ||
        ::dup2(err_w.get(), 2) < 0 || ::dup2(dir, 3) != 3)
      ::_exit(126);
    ::close_range(4, ~0U, 0);
    static const char* const kEnv[] = {"PATH=/usr/bin:/bin", "LC_ALL=C", nullptr};
    ::execve("/usr/bin/tar", argv.data(), const_cast<char* const*>(kEnv));
    ::execve("/bin/tar", argv.data(), const_cast<char* const*>(kEnv));
    ::_exit(127);
  }
  err_w.reset();
  std::string complaint;
  char buf[512];
  ssize_t n;
  while ((n = ::read(err_r.get(), buf, sizeof buf)) > 0 || (n < 0 && errno == EINTR))
    if (n > 0 && complaint.size() < 4096) complaint.append(buf, static_cast<size_t>(n));
  int status = 0;
  while (::waitpid(child, &status, 0) < 0 && errno == EINTR) {
  }
  if (WIFEXITED(status) && WEXITSTATUS(status) == 0) return {};
  if (WIFEXITED(status) && WEXITSTATUS(status) == 127) return MakeError(ENOENT, "tar is not installed");
  std::string first = complaint.substr(0, complaint.find('\n'));
  return MakeError(EIO, "tar {} failed: {}", args[1], first.empty() ? "no message" : first);
}

}  // namespace

Result<> ArchiveTree(int dir, int out) {
  // The options CRIU gives tar, so either can read the other's archives.
  return RunTar({"tar", "--create", "--gzip", "--no-unquote", "--no-wildcards", "--one-file-system",
                 "--check-links", "--preserve-permissions", "--sparse", "--numeric-owner",
                 "--directory=/proc/self/fd/3", "."},
                -1, out, dir);
}

Result<> ExtractTree(int in, int dir) {
  return RunTar({"tar", "--extract", "--gzip", "--no-unquote", "--no-wildcards", "--preserve-permissions",
                 "--numeric-owner", "--directory=/proc/self/fd/3"},
                in, -1, dir);
}

}  // namespace cryo::mnt
