// Packet sockets of a dump, made by cryo in the tree's network namespace:
// bound to their interface (SOCK_PACKET ones by its name), their PACKET_*
// options, memberships, fanout group and rings set again.
#pragma once

#include <map>

#include "engine/base/result.h"
#include "engine/base/unique_fd.h"
#include "engine/restore/image_set.h"

namespace cryo {

// Adds one fd per packet socket file id to `out`.
Result<> CreatePacketSockets(const ImageSet& s, std::map<uint32_t, UniqueFd>& out);

}  // namespace cryo
