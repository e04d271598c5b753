// Signal-driven I/O of the restored files (dump side: dump/file_owner.h):
// their owners for SIGIO, set once every task and thread of the tree
// exists, since an owner may be any of them, through cryo's own fd of
// each file. (O_ASYNC itself is turned on again by the first task that
// holds the file, at its own fd number: the kernel's SIGIO names the fd
// O_ASYNC was turned on through.)
#pragma once

#include <optional>

#include "engine/base/log.h"
#include "engine/base/result.h"
#include "engine/image/proto/files.pb.h"
#include "engine/restore/fork_tree.h"
#include "engine/restore/image_set.h"

namespace cryo {

// The owner a files.img entry records (whichever part of it does), when it
// names an owner or a signal.
std::optional<img::fown_entry> EntryOwner(const img::file_entry& e);

// The status flags a files.img entry records (the "flags" of whichever
// part holds them), when they have O_ASYNC.
std::optional<uint32_t> EntryAsyncFlags(const img::file_entry& e);

// Sets `f`'s signal and owner on `fd`; `host`: the owner as cryo sees it
// (0: none). The uids the kernel records with the owner are f's: cryo
// takes them for the call (its saved uid stays root to come back).
Result<> SetFileOwner(int fd, const img::fown_entry& f, pid_t host);

// Every owner of the tree's files, each through the first task holding the
// file. An owner that is no task of the tree (images from elsewhere) is
// not set, with a warning.
Result<> RestoreOwners(const ImageSet& s, const RestoredTree& tree, Log& log);

}  // namespace cryo
