// Addresses of a namespace (ifaddr-N.img: what `ip addr save` writes).
#pragma once

#include <string>
#include <vector>

#include "engine/base/log.h"
#include "engine/base/result.h"
#include "netns/link.h"
#include "netns/netlink.h"

namespace cryo::netns {

// Every address, IPv4 and IPv6, as the kernel lists them.
Result<std::vector<std::string>> DumpAddrs(Rtnl& rt);
// Replays them as RTM_NEWADDR on the devices `links` maps them to. What
// the kernel makes by itself (lo's 127.0.0.1 and ::1, IPv6 link-local and
// temporary addresses) is left to it; an address already there is kept.
Result<> RestoreAddrs(Rtnl& rt, const std::vector<std::string>& msgs, const LinkMap& links, Log& log);

}  // namespace cryo::netns
