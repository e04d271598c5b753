#include "engine/mem/lazy_socket.h"

#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <vector>

#include "engine/base/fd_passing.h"

namespace cryo::lazy {
namespace {

Result<sockaddr_un> Address(const std::string& dir) {
  sockaddr_un a{};
  a.sun_family = AF_UNIX;
  std::string path = dir + "/" + kSocketName;
  if (path.size() >= sizeof a.sun_path) return MakeError(ENAMETOOLONG, "lazy pages socket {}: path too long", path);
  std::copy(path.begin(), path.end(), a.sun_path);
  return a;
}

}  // namespace

Result<UniqueFd> Listen(const std::string& dir) {
  sockaddr_un a = CRYO_TRY(Address(dir));
  UniqueFd s(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!s) return ErrnoError("socket");
  ::unlink(a.sun_path);
  if (::bind(s.get(), reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 || ::listen(s.get(), 1) != 0)
    return ErrnoError("listen on {}", a.sun_path);
  return s;
}

Result<UniqueFd> Connect(const std::string& dir) {
  sockaddr_un a = CRYO_TRY(Address(dir));
  UniqueFd s(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!s) return ErrnoError("socket");
  if (::connect(s.get(), reinterpret_cast<sockaddr*>(&a), sizeof a) != 0)
    return ErrnoError("connect to the lazy-pages daemon at {} (start `cryo lazy-pages` first)", a.sun_path);
  return s;
}

Result<> Send(int sock, const Message& m, int uffd, int pidfd) {
  int fds[2] = {uffd, pidfd};
  auto r = SendWithFds(sock, &m, sizeof m, m.kind == kProcess ? std::span<const int>(fds) : std::span<const int>());
  if (!r) return std::unexpected(r.error().context("send to the lazy-pages daemon"));
  return {};
}

Result<Message> Receive(int sock, UniqueFd* uffd, UniqueFd* pidfd) {
  Message m;
  std::vector<UniqueFd> fds;
  size_t n = CRYO_TRY_CTX(RecvWithFds(sock, &m, sizeof m, &fds, 2), "receive from the restore");
  if (n == 0) return Message{kMagic, 0, 0, 0};
  bool process = m.kind == kProcess;
  if (n != sizeof m || m.magic != kMagic || (m.kind != kProcess && m.kind != kAllHanded && m.kind != kRunning) ||
      (process && (m.pid <= 0 || m.host <= 0)) || fds.size() != (process ? 2u : 0u))
    return MakeError(EPROTO, "a malformed message from the restore");
  if (process) {
    *uffd = std::move(fds[0]);
    *pidfd = std::move(fds[1]);
  }
  return m;
}

}  // namespace cryo::lazy
