// A network namespace's whole state, dumped and restored: devices
// (netdev-N), namespace-wide sysctls (netns-N), addresses (ifaddr-N),
// routes (route-N, route6-N), rules (rule-N), iptables (iptables-N,
// ip6tables-N) and nftables (nftables-N), N being the namespace's id in
// the images. See docs/network.md.
#pragma once

#include <cstdint>
#include <string_view>

#include "engine/base/log.h"
#include "engine/base/result.h"
#include "engine/options/options.h"
#include "netns/lock.h"

namespace cryo::netns {

// The namespace of `netns_fd` into `dir`. `lock_run_id`: the run whose
// network lock is on it (its table or chain is not dumped). A device cryo
// cannot restore is an error naming it: nothing is written then.
Result<> DumpNetns(int netns_fd, int dir, uint32_t id, std::string_view lock_run_id, Log& log);

struct NetnsTarget {
  int self_netns = -1;  // the namespace to restore into
  int host_netns = -1;  // cryo's own: veth peers, macvlan lower devices
  // true: made by cryo for the tree (everything comes back, and it is
  // locked until the tree runs); false: one that exists (--join-ns, an
  // external one): only the dumped devices found there by name, and
  // their addresses and routes that are missing.
  bool fresh = true;
  NetworkLock lock = NetworkLock::kNftables;
};

// Restores namespace `id` of `dir`. For a fresh namespace the returned
// lock holds it closed: lift it just before the tasks run.
Result<NetnsLock> RestoreNetns(int dir, uint32_t id, const NetnsTarget& to, const Options& opts, Log& log);

}  // namespace cryo::netns
