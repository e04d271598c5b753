#include "engine/base/fd_passing.h"

#include <sys/socket.h>

#include <cerrno>
#include <cstring>

namespace cryo {

constexpr size_t kMaxFds = 8;

Result<> SendWithFds(int sock, const void* data, size_t len, std::span<const int> fds) {
  if (fds.size() > kMaxFds) return MakeError(EINVAL, "{} fds in one message", fds.size());
  iovec iov{const_cast<void*>(data), len};
  msghdr h{};
  h.msg_iov = &iov;
  h.msg_iovlen = 1;
  alignas(cmsghdr) char ctl[CMSG_SPACE(kMaxFds * sizeof(int))] = {};
  if (!fds.empty()) {
    h.msg_control = ctl;
    h.msg_controllen = CMSG_SPACE(fds.size() * sizeof(int));
    cmsghdr* c = CMSG_FIRSTHDR(&h);
    c->cmsg_level = SOL_SOCKET;
    c->cmsg_type = SCM_RIGHTS;
    c->cmsg_len = CMSG_LEN(fds.size() * sizeof(int));
    std::memcpy(CMSG_DATA(c), fds.data(), fds.size() * sizeof(int));
  }
  for (;;) {
    ssize_t n = ::sendmsg(sock, &h, MSG_NOSIGNAL);
    if (n == static_cast<ssize_t>(len)) return {};
    if (n >= 0) return MakeError(EMSGSIZE, "sent {} of {} bytes", n, len);
    if (errno != EINTR) return ErrnoError("sendmsg");
  }
}

Result<size_t> RecvWithFds(int sock, void* data, size_t len, std::vector<UniqueFd>* fds, size_t max_fds) {
  iovec iov{data, len};
  msghdr h{};
  h.msg_iov = &iov;
  h.msg_iovlen = 1;
  alignas(cmsghdr) char ctl[CMSG_SPACE(kMaxFds * sizeof(int))] = {};
  h.msg_control = ctl;
  h.msg_controllen = sizeof ctl;
  ssize_t n;
  do n = ::recvmsg(sock, &h, MSG_CMSG_CLOEXEC);
  while (n < 0 && errno == EINTR);
  if (n < 0) return ErrnoError("recvmsg");
  std::vector<UniqueFd> got;
  for (cmsghdr* c = CMSG_FIRSTHDR(&h); c; c = CMSG_NXTHDR(&h, c)) {
    if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS) continue;
    size_t k = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
    for (size_t i = 0; i < k; i++) {
      int fd;
      std::memcpy(&fd, CMSG_DATA(c) + i * sizeof fd, sizeof fd);
      got.emplace_back(fd);
    }
  }
  if (h.msg_flags & (MSG_TRUNC | MSG_CTRUNC)) return MakeError(EPROTO, "a message too long, or with too many fds");
  if (got.size() > max_fds) return MakeError(EPROTO, "a message with {} fds, at most {} expected", got.size(), max_fds);
  if (fds) *fds = std::move(got);
  return static_cast<size_t>(n);
}

}  // namespace cryo
