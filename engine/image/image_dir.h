// The images directory: opened once, then every image is read or written
// relative to its fd.
#pragma once

#include <string>

#include "engine/base/result.h"
#include "engine/base/unique_fd.h"

namespace cryo {

// Opens an existing directory for reading or writing images.
Result<UniqueFd> OpenImageDir(const std::string& path);
// Makes everything written under the directory durable (one syncfs instead
// of an fsync per image); called before the inventory is written.
Result<> SyncImageDir(int dirfd);

}  // namespace cryo
