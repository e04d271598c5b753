// The firewall of a namespace: iptables-N.img and ip6tables-N.img hold
// iptables-save text, nftables-N.img the nft ruleset (as `nft list
// ruleset` prints it) without the tables iptables-save already holds
// (iptables-nft keeps its tables in nftables too) and without cryo's own
// lock. Dumped and restored in the namespace of `netns_fd`.
#pragma once

#include <string>
#include <string_view>

#include "engine/base/log.h"
#include "engine/base/result.h"

namespace cryo::netns {

struct Firewall {
  std::string iptables, ip6tables, nft;  // empty: nothing of that kind
};

// `lock_run_id`: the run whose network lock is in place, left out.
Result<Firewall> DumpFirewall(int netns_fd, std::string_view lock_run_id, Log& log);
// iptables first (iptables-restore replaces the tables it names), then
// the nftables ruleset.
Result<> RestoreIptables(int netns_fd, const Firewall& fw, Log& log);
Result<> RestoreNft(int netns_fd, const Firewall& fw, Log& log);

// iptables-save text without the lines naming `chain`; a table left with
// nothing but empty built-in chains accepting everything is dropped.
std::string WithoutChain(std::string_view save, std::string_view chain);

}  // namespace cryo::netns
