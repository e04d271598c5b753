// `cryo swrk FD`: serve CRIU's RPC on the SOCK_SEQPACKET socket FD, which
// the client (runc, go-criu, libcriu) created and passed at exec.
#include <sys/socket.h>

#include <charconv>

#include "cli/commands.h"
#include "cli/rpc_session.h"

namespace cryo {

Result<int> RunSwrk(const Options& o, Log&) {
  const std::string& a = o.arguments[0];
  int fd = -1;
  auto [p, ec] = std::from_chars(a.data(), a.data() + a.size(), fd);
  if (ec != std::errc() || p != a.data() + a.size() || fd < 0) return MakeError(EINVAL, "swrk: '{}' is not an fd", a);
  int type = 0;
  socklen_t len = sizeof type;
  if (::getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &len) != 0) return ErrnoError("swrk: fd {}", fd);
  if (type != SOCK_SEQPACKET) return MakeError(EINVAL, "swrk: fd {} is not a SOCK_SEQPACKET socket", fd);
  RpcSession session(fd, /*service=*/false);
  return session.Serve();
}

}  // namespace cryo
