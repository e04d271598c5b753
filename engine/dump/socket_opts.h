// The options every socket has (sk_opts_entry): buffer sizes, timeouts,
// and the SOL_SOCKET flags a program may have set, read from cryo's copy
// of the socket (the same open file description as the task's).
#pragma once

#include "engine/base/result.h"
#include "engine/image/proto/socket.pb.h"

namespace cryo {

// `inet`: also the options only IP sockets use (reuse, priority, mark,
// keepalive, linger, the device bound to, an attached filter).
Result<> ReadSocketOpts(int sk, img::sk_opts_entry* o, bool inet);

}  // namespace cryo
