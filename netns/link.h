// Network devices of a namespace (netdev-N.img): lo, veth, bridge and
// macvlan with their MTU, MAC address, flags, master and per-device
// sysctls. Dumped and restored through rtnetlink in the calling thread's
// namespace. A veth's peer outside the namespace and a macvlan's lower
// device come from --external veth[IN]:OUT[@BRIDGE] (--veth-pair
// IN=OUT[@BRIDGE]) and --external macvlan[IF]:OUT on restore.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "engine/base/log.h"
#include "engine/base/result.h"
#include "engine/image/proto/netdev.pb.h"
#include "engine/options/options.h"
#include "netns/netlink.h"

namespace cryo::netns {

// Every device of the namespace, sysctls included. `ns_id` is the id the
// images give this namespace (a veth with both ends inside names it as
// its peer's). An unsupported device is an error naming it and its kind.
Result<std::vector<img::net_device_entry>> DumpLinks(Rtnl& rt, uint32_t ns_id, Log& log);

// Dumped ifindex -> the device's index now.
class LinkMap {
 public:
  void Add(uint32_t dumped, uint32_t now) { map_[dumped] = now; }
  // 0 when the device was not restored.
  uint32_t Of(uint32_t dumped) const {
    auto it = map_.find(dumped);
    return it == map_.end() ? 0 : it->second;
  }
  bool Has(uint32_t dumped) const { return map_.count(dumped) != 0; }

 private:
  std::map<uint32_t, uint32_t> map_;
};

struct LinkEnv {
  int self_netns = -1;  // the namespace being restored
  int host_netns = -1;  // where veth peers and macvlan lower devices live
  const Options* opts = nullptr;
  Log* log = nullptr;
};

// Restores every device into the (new) namespace `rt` talks to, in
// stages: created, configured (MTU, address, master, sysctls), then up.
// A veth dumped with its peer on the host comes back with a new peer
// (--external veth[IN]:OUT[@BR]) or as a veth made beforehand and moved in
// (--external netdev[IN]:ORIG). On failure, the host ends made are deleted.
Result<LinkMap> RestoreLinks(Rtnl& rt, const std::vector<img::net_device_entry>& devs, const LinkEnv& env);
// An existing namespace (--join-ns, an external one): nothing is made;
// the dumped devices found there by name (lo, a veth a CNI plugin made)
// stand for the dumped ones.
Result<LinkMap> MapLinks(Rtnl& rt, const std::vector<img::net_device_entry>& devs, Log& log);

// The peer for a dumped veth IN: from --external veth[IN]:OUT[@BR] or
// --veth-pair IN=OUT[@BR]; false when not given.
bool VethPeerFor(const Options& opts, const std::string& in, std::string* out, std::string* bridge);

}  // namespace cryo::netns
