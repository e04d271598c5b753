// Who gets SIGIO (and SIGURG) for an open file: the owner F_SETOWN_EX set,
// the signal F_SETSIG set, and the uids the owner was set with
// (F_GETOWNER_UIDS), as fown_entry. They belong to the open file
// description: read through any fd of it.
#pragma once

#include "engine/base/result.h"
#include "engine/image/proto/files.pb.h"

namespace cryo {

// The owner of the file behind `fd`; its pid as cryo sees it (0: none).
Result<img::fown_entry> ReadFileOwner(int fd);
// Puts `f` in whichever part of `e` records an owner; false if none does.
bool SetEntryOwner(img::file_entry& e, const img::fown_entry& f);

}  // namespace cryo
