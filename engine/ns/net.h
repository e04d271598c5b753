// A network namespace, for now one that holds only lo (netns-N.img and
// its device in netdev-N.img): lo's flags (up or down) and MTU, with the
// addresses the kernel gives it. Any other device stops the dump; full
// network state is netns/'s.
#pragma once

#include <sys/types.h>

#include "engine/base/result.h"
#include "engine/image/proto/netdev.pb.h"

namespace cryo::ns {

struct NetState {
  img::netns_entry ns;
  img::net_device_entry lo;
};

Result<NetState> DumpNet(pid_t pid);
// Sets lo up as dumped in the network namespace cryo is in.
Result<> ApplyNet(const NetState& n);

}  // namespace cryo::ns
