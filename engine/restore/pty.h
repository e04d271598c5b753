// Pseudo-terminals of a dump, recreated by cryo with their index (masters
// are opened until the kernel hands out the dumped one), termios, window
// size and the output the master had not read; each end a task held is an
// fd of cryo's for it to take.
#pragma once

#include <functional>
#include <map>
#include <vector>

#include "engine/base/result.h"
#include "engine/base/unique_fd.h"
#include "engine/mnt/tree_root.h"
#include "engine/restore/image_set.h"

namespace cryo {

// A pty the tree held only the slave of (its master was a runtime's
// console: orphan-pts-master) is made too; its master goes to `orphans`,
// for the caller to hand over.
// `premade(index)`: a master made earlier (for a bind of its slave), if any.
Result<> CreatePtys(const ImageSet& s, std::map<uint32_t, UniqueFd>& out, const mnt::TreeRoot& root,
                    std::vector<UniqueFd>& orphans, const std::function<UniqueFd(uint32_t)>& premade);

}  // namespace cryo
