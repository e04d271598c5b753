// nftables commands through libnftables, run in the network namespace
// of `netns_fd` (its netlink socket is made there).
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "engine/base/result.h"

namespace cryo::netns {

// Runs `cmds` (nft's syntax, one batch: all or nothing) and returns what
// nft prints; an error carries nft's own message.
Result<std::string> Nft(int netns_fd, std::string_view cmds);
// The tables of the namespace, as "FAMILY NAME".
Result<std::vector<std::string>> NftTables(int netns_fd);

}  // namespace cryo::netns
