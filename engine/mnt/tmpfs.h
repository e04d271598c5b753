// The contents of a tmpfs, as CRIU keeps them: a gzip'ed tar in
// tmpfs-dev-N.tar.gz.img, made and unpacked by the system's tar (the
// format is tar's; cryo does not parse it).
#pragma once

#include "engine/base/result.h"

namespace cryo::mnt {

// Archives the directory `dir` (an fd; child mounts below it are left out)
// into `out`.
Result<> ArchiveTree(int dir, int out);
// Unpacks what ArchiveTree wrote, read from `in`, into the directory `dir`.
Result<> ExtractTree(int in, int dir);

}  // namespace cryo::mnt
