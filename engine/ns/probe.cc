#include "engine/ns/probe.h"

#include <fcntl.h>
#include <sched.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <vector>

#include "engine/base/files.h"
#include "engine/base/unique_fd.h"

namespace cryo::ns {

uint64_t NsInode(pid_t pid, const char* kind) {
  struct stat st;
  std::string p = pid > 0 ? fmt::format("/proc/{}/ns/{}", pid, kind) : fmt::format("/proc/self/ns/{}", kind);
  return ::stat(p.c_str(), &st) == 0 ? st.st_ino : 0;
}

uint64_t NsInodeAt(int ns_dir, const char* kind) {
  struct stat st;
  return ::fstatat(ns_dir, kind, &st, 0) == 0 ? st.st_ino : 0;
}

long ReadFileProbe(char* out, size_t cap, const char* path) {
  int fd = ::open(path, O_RDONLY);
  if (fd < 0) return -errno;
  long n = ::read(fd, out, cap);
  long err = n < 0 ? -errno : 0;
  ::close(fd);
  return n < 0 ? err : n;
}

Result<std::string> ReadInside(pid_t pid, int flags, ProbeFn fn, const char* arg) {
  struct Kind {
    int flag;
    const char* name;
  };
  static constexpr Kind kKinds[] = {{CLONE_NEWUTS, "uts"}, {CLONE_NEWIPC, "ipc"}, {CLONE_NEWNET, "net"}, {CLONE_NEWCGROUP, "cgroup"}};
  std::vector<std::pair<int, UniqueFd>> fds;
  for (const auto& k : kKinds) {
    if (!(flags & k.flag)) continue;
    fds.emplace_back(k.flag, CRYO_TRY(Open(fmt::format("/proc/{}/ns/{}", pid, k.name), O_RDONLY | O_CLOEXEC)));
  }
  int p[2];
  if (::pipe2(p, O_CLOEXEC) != 0) return ErrnoError("pipe");
  UniqueFd rd(p[0]), wr(p[1]);
  static constexpr size_t kCap = 16384;
  std::string buf(kCap, '\0');  // allocated before the fork, written by the child
  pid_t child = ::fork();
  if (child < 0) return ErrnoError("fork");
  if (child == 0) {
    for (auto& [flag, fd] : fds)
      if (::setns(fd.get(), flag) != 0) ::_exit(100);
    long n = fn(buf.data(), kCap, arg);
    if (n < 0) ::_exit(static_cast<int>(-n & 0x7f));
    if (::write(wr.get(), buf.data(), static_cast<size_t>(n)) != n) ::_exit(101);
    ::_exit(0);
  }
  wr.reset();
  std::string out(kCap, '\0');
  auto n = ReadFull(rd.get(), out.data(), out.size());
  int status = 0;
  while (::waitpid(child, &status, 0) < 0 && errno == EINTR) {
  }
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    int code = WIFEXITED(status) ? WEXITSTATUS(status) : 0;
    if (code == 100) return MakeError(EPERM, "join the namespaces of {}", pid);
    return MakeError(code > 0 && code < 100 ? code : EIO, "read the namespaces of {} from inside", pid);
  }
  if (!n) return std::unexpected(n.error());
  out.resize(*n);
  return out;
}

}  // namespace cryo::ns
