// Unix sockets of a dump, recreated by cryo: pairs of peers as socketpairs,
// named ones bound (and listening), clients connected to their server or
// to an external name, queued packets sent again through their peer, then
// shutdown states and status flags.
#pragma once

#include <map>
#include <set>

#include "engine/base/result.h"
#include "engine/base/unique_fd.h"
#include "engine/mnt/tree_root.h"
#include "engine/restore/image_set.h"

namespace cryo {

// Adds one fd per unix socket file id to `out`; those in `inherited` are
// there already (--inherit-fd) and are left as they are.
Result<> CreateUnixSockets(const ImageSet& s, std::map<uint32_t, UniqueFd>& out, const std::set<uint32_t>& inherited,
                           const mnt::TreeRoot& root);

}  // namespace cryo
