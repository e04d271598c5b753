// Pseudo-terminals of a dump, recreated by cryo with their index (masters
// are opened until the kernel hands out the dumped one), termios, window
// size and the output the master had not read; each end a task held is an
// fd of cryo's for it to take.
#pragma once

#include <map>

#include "engine/base/result.h"
#include "engine/base/unique_fd.h"
#include "engine/mnt/tree_root.h"
#include "engine/restore/image_set.h"

namespace cryo {

Result<> CreatePtys(const ImageSet& s, std::map<uint32_t, UniqueFd>& out, const mnt::TreeRoot& root);

}  // namespace cryo
