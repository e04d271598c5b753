#include "engine/mem/track_keeper.h"

#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>

#include "engine/base/fd_passing.h"
#include "engine/base/files.h"

namespace cryo {
namespace {

constexpr uint32_t kMagic = 0x544d454d;  // "MEMT"
enum Kind : uint32_t { kFetch = 1, kState, kTask, kCommit, kEnd, kDone };

// One message; a kTask carries the task's userfaultfd and pidfd.
struct Msg {
  uint32_t magic = kMagic;
  uint32_t kind = 0;
  int32_t pid = 0;
  uint32_t count = 0;
  char run_id[48] = {};
};

Msg Make(Kind kind, int32_t pid = 0, uint32_t count = 0, const std::string& run_id = {}) {
  Msg m;
  m.kind = kind;
  m.pid = pid;
  m.count = count;
  std::memcpy(m.run_id, run_id.data(), std::min(run_id.size(), sizeof m.run_id - 1));
  return m;
}

Result<> Send(int sock, const Msg& m, int fd1 = -1, int fd2 = -1) {
  int fds[2] = {fd1, fd2};
  auto r = SendWithFds(sock, &m, sizeof m, fd1 >= 0 ? std::span<const int>(fds) : std::span<const int>());
  if (!r) return std::unexpected(r.error().context("send to the memory tracking keeper"));
  return {};
}

// A message; with `fds`, the two fds a kTask must carry.
Result<Msg> Receive(int sock, UniqueFd* fds = nullptr) {
  Msg m;
  std::vector<UniqueFd> got;
  size_t n = CRYO_TRY_CTX(RecvWithFds(sock, &m, sizeof m, &got, 2), "receive from the memory tracking peer");
  if (n == 0) return MakeError(EPIPE, "the memory tracking peer hung up");
  if (n != sizeof m || m.magic != kMagic) return MakeError(EPROTO, "a malformed memory tracking message");
  m.run_id[sizeof m.run_id - 1] = '\0';
  if (fds) {
    if (got.size() != 2) return MakeError(EPROTO, "a tracked task without its two fds");
    fds[0] = std::move(got[0]);
    fds[1] = std::move(got[1]);
  }
  return m;
}

// The peer of a connected unix socket runs as this process's user.
bool SameUser(int sock) {
  ucred cred{};
  socklen_t len = sizeof cred;
  return ::getsockopt(sock, SOL_SOCKET, SO_PEERCRED, &cred, &len) == 0 && cred.uid == ::geteuid();
}

sockaddr_un Address(const std::string& name, socklen_t& len) {
  sockaddr_un a{};
  a.sun_family = AF_UNIX;
  // Abstract: sun_path[0] is NUL, and nothing is left on disk.
  size_t n = std::min(name.size(), sizeof a.sun_path - 1);
  std::memcpy(a.sun_path + 1, name.data(), n);
  len = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + 1 + n);
  return a;
}

// A connection to the keeper; an invalid fd when none listens.
Result<UniqueFd> Connect(const std::string& name) {
  UniqueFd s(::socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0));
  if (!s) return ErrnoError("socket");
  socklen_t len;
  sockaddr_un a = Address(name, len);
  if (::connect(s.get(), reinterpret_cast<sockaddr*>(&a), len) != 0) {
    if (errno == ECONNREFUSED || errno == ENOENT) return UniqueFd();
    return ErrnoError("connect to the memory tracking keeper");
  }
  // The name is easy to guess: only a keeper of cryo's own user is
  // trusted with (or to hand out) userfaultfds of a tree's memory.
  if (!SameUser(s.get()))
    return MakeError(EACCES, "@{} is held by a process of another user: not trusted", name);
  timeval tv{60, 0};  // a keeper that does not answer is not waited for
  ::setsockopt(s.get(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  return s;
}

// Binds the name, then starts the keeper on it, detached: its own session,
// not cryo's child (it outlives cryo), stdio on /dev/null.
Result<> StartKeeper(const std::string& name) {
  UniqueFd l(::socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0));
  if (!l) return ErrnoError("socket");
  socklen_t len;
  sockaddr_un a = Address(name, len);
  if (::bind(l.get(), reinterpret_cast<sockaddr*>(&a), len) != 0) return ErrnoError("bind the memory tracking keeper's socket");
  if (::listen(l.get(), 16) != 0) return ErrnoError("listen");
  UniqueFd null = CRYO_TRY(Open("/dev/null", O_RDWR));
  const char* argv[] = {"cryo-memtrack", kKeeperArg, nullptr};
  pid_t p = ::fork();
  if (p < 0) return ErrnoError("fork the memory tracking keeper");
  if (p == 0) {
    ::setsid();
    pid_t q = ::fork();
    if (q != 0) ::_exit(q < 0 ? 1 : 0);
    int lf = ::fcntl(l.get(), F_DUPFD, 10), nf = ::fcntl(null.get(), F_DUPFD, 10);
    if (lf < 0 || nf < 0) ::_exit(127);
    ::dup2(nf, 0);
    ::dup2(nf, 1);
    ::dup2(nf, 2);
    ::dup2(lf, 3);
    ::syscall(SYS_close_range, 4U, ~0U, 0U);
    // Nothing of the dump that started it: not its directory, not the one
    // CPU the dumper pinned itself to.
    if (::chdir("/") != 0) ::_exit(127);
    cpu_set_t all;
    CPU_ZERO(&all);
    for (int c = 0; c < CPU_SETSIZE; c++) CPU_SET(c, &all);
    ::sched_setaffinity(0, sizeof all, &all);
    // The binary running now, even if its file was replaced since.
    ::execv("/proc/self/exe", const_cast<char* const*>(argv));
    ::_exit(127);
  }
  int status = 0;
  while (::waitpid(p, &status, 0) < 0 && errno == EINTR) {
  }
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) return MakeError(ECHILD, "the memory tracking keeper did not start");
  return {};
}

}  // namespace

Result<std::string> KeeperName(pid_t root) {
  std::string stat = CRYO_TRY(ReadFile(fmt::format("/proc/{}/stat", root)));
  // Field 22, counted after the command name's closing parenthesis.
  size_t at = stat.rfind(')');
  if (at == std::string::npos) return MakeError(EIO, "/proc/{}/stat: no command name", root);
  int field = 2;
  size_t i = at + 1;
  std::string start;
  while (i < stat.size() && field < 22) {
    while (i < stat.size() && stat[i] == ' ') i++;
    field++;
    size_t e = stat.find(' ', i);
    if (field == 22) start = stat.substr(i, e == std::string::npos ? std::string::npos : e - i);
    i = e == std::string::npos ? stat.size() : e;
  }
  if (start.empty()) return MakeError(EIO, "/proc/{}/stat: no start time", root);
  return fmt::format("cryo-memtrack-{}-{}", root, start);
}

Result<TrackedTree> FetchTracking(const std::string& name) {
  TrackedTree tree;
  UniqueFd s = CRYO_TRY(Connect(name));
  if (!s) return tree;
  tree.keeper_running = true;
  CRYO_TRY(Send(s.get(), Make(kFetch)));
  Msg head = CRYO_TRY(Receive(s.get()));
  if (head.kind != kState) return MakeError(EPROTO, "the memory tracking keeper answered {}", head.kind);
  tree.run_id = head.run_id;
  for (uint32_t i = 0; i < head.count; i++) {
    UniqueFd fds[2];
    Msg t = CRYO_TRY(Receive(s.get(), fds));
    if (t.kind != kTask) return MakeError(EPROTO, "the memory tracking keeper sent {} for a task", t.kind);
    tree.tasks.push_back({t.pid, std::move(fds[0]), std::move(fds[1])});
  }
  return tree;
}

Result<> CommitTracking(const std::string& name, const std::string& run_id, std::vector<TrackedTask> tasks) {
  UniqueFd s = CRYO_TRY(Connect(name));
  if (!s) {
    if (tasks.empty()) return {};
    CRYO_TRY(StartKeeper(name));
    s = CRYO_TRY(Connect(name));
    if (!s) return MakeError(ECONNREFUSED, "the memory tracking keeper is not listening");
  }
  CRYO_TRY(Send(s.get(), Make(kCommit, 0, static_cast<uint32_t>(tasks.size()), run_id)));
  for (const auto& t : tasks) CRYO_TRY(Send(s.get(), Make(kTask, t.pid), t.uffd.get(), t.pidfd.get()));
  Msg done = CRYO_TRY(Receive(s.get()));
  if (done.kind != kDone) return MakeError(EPROTO, "the memory tracking keeper answered {}", done.kind);
  return {};
}

Result<> EndTracking(const std::string& name) {
  UniqueFd s = CRYO_TRY(Connect(name));
  if (!s) return {};
  CRYO_TRY(Send(s.get(), Make(kEnd)));
  (void)Receive(s.get());
  return {};
}

namespace {

struct Keeper {
  std::string run_id;
  std::vector<TrackedTask> tasks;
  bool committed = false;
  bool end = false;

  // One request of one connection.
  Result<> Serve(int c) {
    Msg m = CRYO_TRY(Receive(c));
    switch (m.kind) {
      case kFetch: {
        CRYO_TRY(Send(c, Make(kState, 0, static_cast<uint32_t>(tasks.size()), run_id)));
        // Whatever the asker does next, no dump is the reference any more.
        run_id.clear();
        for (const auto& t : tasks) CRYO_TRY(Send(c, Make(kTask, t.pid), t.uffd.get(), t.pidfd.get()));
        return {};
      }
      case kCommit: {
        std::vector<TrackedTask> fresh;
        for (uint32_t i = 0; i < m.count; i++) {
          UniqueFd fds[2];
          Msg t = CRYO_TRY(Receive(c, fds));
          if (t.kind != kTask) return MakeError(EPROTO, "a commit sent {} for a task", t.kind);
          fresh.push_back({t.pid, std::move(fds[0]), std::move(fds[1])});
        }
        tasks = std::move(fresh);
        run_id = m.run_id;
        committed = true;
        return Send(c, Make(kDone));
      }
      case kEnd:
        end = true;
        return Send(c, Make(kDone));
      default:
        return MakeError(EPROTO, "unknown request {}", m.kind);
    }
  }
};

}  // namespace

int RunTrackKeeper(int listen_fd) {
  ::prctl(PR_SET_NAME, "cryo-memtrack");
  ::signal(SIGPIPE, SIG_IGN);
  // Two fds a task: a big tree needs more than the usual soft limit.
  rlimit nofile{};
  if (::getrlimit(RLIMIT_NOFILE, &nofile) == 0) {
    nofile.rlim_cur = nofile.rlim_max;
    ::setrlimit(RLIMIT_NOFILE, &nofile);
  }
  Keeper k;
  for (;;) {
    std::vector<pollfd> p;
    p.push_back({listen_fd, POLLIN, 0});
    for (const auto& t : k.tasks) p.push_back({t.pidfd.get(), POLLIN, 0});
    // The cryo that started it commits at once; if it never does, it died.
    int n = ::poll(p.data(), p.size(), k.committed ? -1 : 60000);
    if (n < 0 && errno != EINTR) return 1;
    if (n == 0) return 0;
    // A task that exited (its pidfd is readable) needs no tracking.
    std::vector<TrackedTask> live;
    for (size_t i = 0; i < k.tasks.size(); i++)
      if (!(p[i + 1].revents & (POLLIN | POLLHUP | POLLERR))) live.push_back(std::move(k.tasks[i]));
    k.tasks = std::move(live);
    if (p[0].revents & POLLIN) {
      UniqueFd c(::accept4(listen_fd, nullptr, nullptr, SOCK_CLOEXEC));
      if (c && SameUser(c.get())) {
        timeval tv{60, 0};
        ::setsockopt(c.get(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
        ::setsockopt(c.get(), SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
        (void)k.Serve(c.get());
      }
    }
    if (k.end || (k.committed && k.tasks.empty())) return 0;
  }
}

}  // namespace cryo
