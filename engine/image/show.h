// Decoding image files to JSON the way `crit decode` does, for `cryo show`.
#pragma once

#include <string>

#include "engine/base/result.h"
#include "engine/image/json.h"

namespace cryo {

// {"magic": NAME, "entries": [...]} for one image file, raw payloads in
// "extra" (base64) as crit shows them. Errors name the file and offset.
Result<OrderedJson> DecodeImageFile(int dirfd, const std::string& name, bool pretty);

// Every image in a directory: {"FILE": {...}, ...} in name order. RAW
// images (pages, network dumps) are listed with their size only.
Result<OrderedJson> DecodeImageDir(const std::string& path, bool pretty);

}  // namespace cryo
