// /dev/net/tun files of a dump, opened by cryo in the tree's network
// namespace (it is in it while the files are made) and attached again to
// their devices, which the namespace's restore made (netns/tun.h).
#pragma once

#include <cstdint>
#include <map>

#include "engine/base/result.h"
#include "engine/base/unique_fd.h"
#include "engine/restore/image_set.h"

namespace cryo {

// Adds one fd per tun file id to `out`.
Result<> CreateTunFiles(const ImageSet& s, std::map<uint32_t, UniqueFd>& out);

}  // namespace cryo
