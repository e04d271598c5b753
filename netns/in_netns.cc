#include "netns/in_netns.h"

#include <fcntl.h>
#include <sched.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fmt/ranges.h>

#include "engine/base/files.h"

namespace cryo::netns {

Result<UniqueFd> OpenNetns(pid_t pid) {
  std::string path = pid > 0 ? fmt::format("/proc/{}/ns/net", pid) : "/proc/thread-self/ns/net";
  return Open(path, O_RDONLY);
}

Result<uint64_t> NetnsInode(int netns_fd) {
  struct stat st;
  if (::fstat(netns_fd, &st) != 0) return ErrnoError("fstat netns");
  return static_cast<uint64_t>(st.st_ino);
}

Result<NetnsSwitch> NetnsSwitch::Enter(int netns_fd) {
  NetnsSwitch s;
  UniqueFd mine = CRYO_TRY(OpenNetns(0));
  if (CRYO_TRY(NetnsInode(mine.get())) == CRYO_TRY(NetnsInode(netns_fd))) return s;
  if (::setns(netns_fd, CLONE_NEWNET) != 0) return ErrnoError("enter network namespace");
  s.back_ = std::move(mine);
  return s;
}

NetnsSwitch::~NetnsSwitch() {
  if (back_) (void)::setns(back_.get(), CLONE_NEWNET);
}

namespace {

std::string Find(std::string_view program) {
  if (program.find('/') != std::string_view::npos) return std::string(program);
  for (const char* dir : {"/usr/sbin/", "/sbin/", "/usr/bin/", "/bin/"}) {
    std::string p = fmt::format("{}{}", dir, program);
    if (::access(p.c_str(), X_OK) == 0) return p;
  }
  return "";
}

Result<UniqueFd> Memfd(const char* name, std::string_view data) {
  UniqueFd fd(::memfd_create(name, MFD_CLOEXEC));
  if (!fd) return ErrnoError("memfd_create");
  CRYO_TRY(WriteAll(fd.get(), data));
  if (::lseek(fd.get(), 0, SEEK_SET) != 0) return ErrnoError("lseek memfd");
  return fd;
}

Result<std::string> ReadBack(int fd) {
  off_t size = ::lseek(fd, 0, SEEK_END);
  if (size < 0) return ErrnoError("lseek memfd");
  std::string out(static_cast<size_t>(size), '\0');
  if (size > 0 && ::pread(fd, out.data(), out.size(), 0) != size) return ErrnoError("read memfd");
  return out;
}

}  // namespace

bool HaveProgram(std::string_view program) { return !Find(program).empty(); }

Result<std::string> RunIn(int netns_fd, const std::vector<std::string>& argv, std::string_view input) {
  std::string cmd = fmt::format("{}", fmt::join(argv, " "));
  std::string path = Find(argv.at(0));
  if (path.empty()) return MakeError(ENOENT, "{}: not installed (hack/setup.sh installs it)", argv[0]);
  // Files, not pipes: no deadlock whatever sizes go in and out.
  UniqueFd in = CRYO_TRY(Memfd("stdin", input));
  UniqueFd out = CRYO_TRY(Memfd("stdout", ""));
  UniqueFd err = CRYO_TRY(Memfd("stderr", ""));
  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  static char kPath[] = "PATH=/usr/sbin:/usr/bin:/sbin:/bin";
  char* envp[] = {kPath, nullptr};
  pid_t child = ::fork();
  if (child < 0) return ErrnoError("fork for {}", cmd);
  if (child == 0) {
    // Only system calls from here on.
    if (::setns(netns_fd, CLONE_NEWNET) != 0) ::_exit(126);
    if (::dup2(in.get(), 0) < 0 || ::dup2(out.get(), 1) < 0 || ::dup2(err.get(), 2) < 0) ::_exit(126);
    ::execve(path.c_str(), args.data(), envp);
    ::_exit(127);
  }
  int status = 0;
  while (::waitpid(child, &status, 0) < 0) {
    if (errno != EINTR) return ErrnoError("wait for {}", cmd);
  }
  std::string text = CRYO_TRY(ReadBack(out.get()));
  if (WIFEXITED(status) && WEXITSTATUS(status) == 0) return text;
  std::string why = CRYO_TRY(ReadBack(err.get()));
  while (!why.empty() && why.back() == '\n') why.pop_back();
  int code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  return MakeError(EIO, "{}: exit {}{}{}", cmd, code, why.empty() ? "" : ": ", why);
}

}  // namespace cryo::netns
