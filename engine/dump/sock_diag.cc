#include "engine/dump/sock_diag.h"

#include <fcntl.h>
#include <linux/netlink.h>
#include <sched.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <vector>

namespace cryo {

Result<UniqueFd> SockDiagSocket(pid_t pid) {
  UniqueFd theirs, ours;
  if (pid > 0) {
    struct stat a, b;
    std::string path = fmt::format("/proc/{}/ns/net", pid);
    if (::stat(path.c_str(), &a) == 0 && ::stat("/proc/self/ns/net", &b) == 0 && a.st_ino != b.st_ino) {
      theirs = UniqueFd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
      ours = UniqueFd(::open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC));
      if (!theirs || !ours) return ErrnoError("network namespace of {}", pid);
      if (::setns(theirs.get(), CLONE_NEWNET) != 0) return ErrnoError("join the network namespace of {}", pid);
    }
  }
  UniqueFd nl(::socket(AF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC, NETLINK_SOCK_DIAG));
  int err = errno;
  if (ours && ::setns(ours.get(), CLONE_NEWNET) != 0) return ErrnoError("back to cryo's network namespace");
  if (!nl) {
    errno = err;
    return ErrnoError("netlink sock_diag socket");
  }
  return nl;
}

Result<> SockDiagDump(int nl, std::string_view req, const char* what,
                      const std::function<Result<>(const void* data, size_t len)>& each) {
  if (::send(nl, req.data(), req.size(), 0) != static_cast<ssize_t>(req.size()))
    return ErrnoError("send sock_diag request ({})", what);
  std::vector<char> buf(1 << 16);
  for (;;) {
    ssize_t n = ::recv(nl, buf.data(), buf.size(), 0);
    if (n < 0) {
      if (errno == EINTR) continue;
      return ErrnoError("read sock_diag reply ({})", what);
    }
    if (n == 0) return MakeError(EIO, "sock_diag: reply ended early ({})", what);
    auto* h = reinterpret_cast<nlmsghdr*>(buf.data());
    int left = static_cast<int>(n);
    for (; NLMSG_OK(h, left); h = NLMSG_NEXT(h, left)) {
      if (h->nlmsg_type == NLMSG_DONE) return {};
      if (h->nlmsg_type == NLMSG_ERROR) {
        const auto* e = static_cast<const nlmsgerr*>(NLMSG_DATA(h));
        return MakeError(-e->error, "sock_diag: {}", what);
      }
      CRYO_TRY(each(NLMSG_DATA(h), h->nlmsg_len - NLMSG_LENGTH(0)));
    }
  }
}

}  // namespace cryo
