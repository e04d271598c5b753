// Netlink sockets of a dump, made by cryo in the tree's network
// namespace: bound to the port id and groups they had (groups above 32
// joined one by one), connected to their peer, their options set.
#pragma once

#include <map>

#include "engine/base/result.h"
#include "engine/base/unique_fd.h"
#include "engine/restore/image_set.h"

namespace cryo {

// Adds one fd per netlink socket file id to `out`.
Result<> CreateNetlinkSockets(const ImageSet& s, std::map<uint32_t, UniqueFd>& out);

}  // namespace cryo
