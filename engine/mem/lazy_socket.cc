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

Result<> Send(int sock, const Handover& h, int uffd) {
  int fds[1] = {uffd};
  auto r = SendWithFds(sock, &h, sizeof h, uffd >= 0 ? std::span<const int>(fds) : std::span<const int>());
  if (!r) return std::unexpected(r.error().context("send to the lazy-pages daemon"));
  return {};
}

Result<Handover> Receive(int sock, UniqueFd* uffd) {
  Handover h;
  std::vector<UniqueFd> fds;
  size_t n = CRYO_TRY_CTX(RecvWithFds(sock, &h, sizeof h, &fds, 1), "receive from the restore");
  if (n == 0) {
    h.pid = -1;
    return h;
  }
  if (n != sizeof h || h.magic != kMagic || h.pid < 0 || (h.pid > 0) != (fds.size() == 1))
    return MakeError(EPROTO, "a malformed message from the restore");
  if (h.pid > 0) *uffd = std::move(fds[0]);
  return h;
}

}  // namespace cryo::lazy
