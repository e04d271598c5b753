// A UTS namespace: its host and domain names (utsns-N.img).
#pragma once

#include <sys/types.h>

#include "engine/base/result.h"
#include "engine/image/proto/namespaces.pb.h"

namespace cryo::ns {

Result<img::utsns_entry> DumpUts(pid_t pid);
// Sets them in the UTS namespace cryo is in.
Result<> ApplyUts(const img::utsns_entry& e);

}  // namespace cryo::ns
