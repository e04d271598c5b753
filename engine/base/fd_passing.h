// One message with fds attached (SCM_RIGHTS) over a unix socket.
#pragma once

#include <cstddef>
#include <span>
#include <vector>

#include "engine/base/result.h"
#include "engine/base/unique_fd.h"

namespace cryo {

// Sends `len` bytes with `fds` (none: a plain message); EINTR is retried.
Result<> SendWithFds(int sock, const void* data, size_t len, std::span<const int> fds = {});

// Receives one message into data (at most len bytes) and up to `max_fds`
// fds (close-on-exec). Returns the byte count (0: the peer hung up); a
// truncated message or one with more fds is an error.
Result<size_t> RecvWithFds(int sock, void* data, size_t len, std::vector<UniqueFd>* fds, size_t max_fds);

}  // namespace cryo
