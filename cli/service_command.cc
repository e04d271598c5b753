// `cryo service [--address PATH] [-d] [--pidfile FILE] [--status-fd N]`: CRIU's RPC on a
// listening SOCK_SEQPACKET socket (mode 0666, default
// ./criu_service.socket); each connection is served by a worker process
// of its own.
#include <fcntl.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>

#include "cli/commands.h"
#include "cli/rpc_session.h"
#include "engine/base/files.h"

namespace cryo {

Result<int> RunService(const Options& o, Log& log) {
  if (o.status_fd >= 0 && ::fcntl(o.status_fd, F_GETFD) < 0)
    return ErrnoError("service: --status-fd {} is not open", o.status_fd);
  if (o.status_fd >= 0 && o.status_fd <= 2 && o.daemon)
    return MakeError(EINVAL, "service: --status-fd {} is stdio, which -d points at /dev/null", o.status_fd);
  std::string addr = o.address.empty() ? "criu_service.socket" : o.address;
  sockaddr_un sa{};
  sa.sun_family = AF_UNIX;
  if (addr.size() >= sizeof sa.sun_path) return MakeError(ENAMETOOLONG, "service: address {} is too long", addr);
  std::memcpy(sa.sun_path, addr.c_str(), addr.size() + 1);
  UniqueFd sk(::socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0));
  if (!sk) return ErrnoError("service: socket");
  struct stat st;
  if (::lstat(addr.c_str(), &st) == 0 && S_ISSOCK(st.st_mode)) ::unlink(addr.c_str());  // a stale one
  if (::bind(sk.get(), reinterpret_cast<sockaddr*>(&sa), sizeof sa) != 0) return ErrnoError("service: bind {}", addr);
  if (::chmod(addr.c_str(), 0666) != 0) return ErrnoError("service: chmod {}", addr);
  if (::listen(sk.get(), 16) != 0) return ErrnoError("service: listen");
  if (o.daemon) {
    if (::daemon(1, 0) != 0) return ErrnoError("service: daemon");
  }
  if (!o.pidfile.empty()) CRYO_TRY(WriteFile(o.pidfile, fmt::format("{}", ::getpid()), 0644));
  CRYO_TRY_CTX(SignalStatusFd(o.status_fd), "service");  // requests are taken from now on
  log.Info("service listening on {}", addr);
  for (;;) {
    UniqueFd conn(::accept4(sk.get(), nullptr, nullptr, SOCK_CLOEXEC));
    // Workers that are done.
    while (::waitpid(-1, nullptr, WNOHANG) > 0) {
    }
    if (!conn) {
      if (errno == EINTR || errno == ECONNABORTED) continue;
      return ErrnoError("service: accept");
    }
    pid_t worker = ::fork();
    if (worker < 0) {
      log.Warn("service: fork a worker: {}", std::strerror(errno));
      continue;
    }
    if (worker == 0) {
      sk.reset();
      RpcSession session(conn.get(), /*service=*/true);
      ::_exit(session.Serve());
    }
  }
}

}  // namespace cryo
