// A socket's options as the dump found them (sk_opts_entry), set on the
// socket cryo makes in its place.
#pragma once

#include <cstdint>

#include "engine/base/result.h"
#include "engine/image/proto/socket.pb.h"

namespace cryo {

// `id`: the file id, for errors. Every option the entry names is set;
// SO_REUSEADDR is left to the caller, which sets it after binding.
// `inet`: an IP socket (its buffer locks are set as dumped).
Result<> ApplySocketOpts(int sk, const img::sk_opts_entry& o, uint32_t id, bool inet);

}  // namespace cryo
