// Policy routing rules, IPv4 and IPv6 (rule-N.img: what `ip rule save`
// writes, both families).
#pragma once

#include <string>
#include <vector>

#include "engine/base/log.h"
#include "engine/base/result.h"
#include "netns/netlink.h"

namespace cryo::netns {

Result<std::vector<std::string>> DumpRules(Rtnl& rt);
// Adds each rule the namespace does not hold yet. `exact` (a namespace
// cryo made): the kernel's default rules the image does not have are
// deleted too, so the set is the dumped one.
Result<> RestoreRules(Rtnl& rt, const std::vector<std::string>& msgs, bool exact, Log& log);

}  // namespace cryo::netns
