// IP sockets of a dump, made by cryo in the tree's network namespace:
// bound (and listening) where they were, UDP, ping and raw sockets
// connected again, TCP connections rebuilt in repair mode; then their
// options and status flags.
#pragma once

#include <map>

#include "engine/base/result.h"
#include "engine/base/unique_fd.h"
#include "engine/restore/image_set.h"
#include "engine/restore/tcp_stream.h"

namespace cryo {

// Adds one fd per inet socket file id to `out`; connections are held in
// `conns` until they may leave repair mode, or, with `tcp_close`, come
// back closed.
Result<> CreateInetSockets(const ImageSet& s, bool tcp_close, std::map<uint32_t, UniqueFd>& out,
                          TcpConnections& conns);

}  // namespace cryo
