// NETLINK_SOCK_DIAG: what the kernel tells of its sockets that getsockopt
// does not (peers, shutdown state, queue lengths), asked from inside the
// network namespace the sockets live in.
#pragma once

#include <sys/types.h>

#include <functional>
#include <string_view>

#include "engine/base/result.h"
#include "engine/base/unique_fd.h"

namespace cryo {

// A sock_diag socket in `pid`'s network namespace (cryo's own when `pid`
// is 0 or shares it): made there by cryo, which goes in for that one call
// and comes straight back.
Result<UniqueFd> SockDiagSocket(pid_t pid);

// Sends the dump request `req` and hands each reply's payload to `each`,
// until the kernel says done. `what` names the request in errors.
Result<> SockDiagDump(int nl, std::string_view req, const char* what,
                      const std::function<Result<>(const void* data, size_t len)>& each);

}  // namespace cryo
