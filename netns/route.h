// Routes of a namespace, every table (route-N.img for IPv4, route6-N.img
// for IPv6: what `ip [-6] route save table all` writes).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "engine/base/log.h"
#include "engine/base/result.h"
#include "netns/link.h"
#include "netns/netlink.h"

namespace cryo::netns {

Result<std::vector<std::string>> DumpRoutes(Rtnl& rt, uint8_t family);
// Replays them as RTM_NEWROUTE, in iproute2's order (routes to local
// addresses, then to local networks, then through gateways), devices
// mapped by `links`. The local table and the routes the kernel makes from
// addresses and links (proto kernel) are left to the kernel; a route
// already there is kept.
Result<> RestoreRoutes(Rtnl& rt, const std::vector<std::string>& msgs, const LinkMap& links, Log& log);

}  // namespace cryo::netns
