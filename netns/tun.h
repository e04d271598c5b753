// tun/tap devices (netdev-N.img's tun_link_entry) and what a /dev/net/tun
// fd shows of the device it is attached to. A device's settings come from
// rtnetlink (IFLA_TUN_*); its vnet header size and send buffer only from
// a file attached to it: one the tree holds (a device with an fd open) or,
// for a persistent device nobody holds, one cryo attaches for a moment.
#pragma once

#include <linux/if_tun.h>
#include <sys/types.h>

#include <cstdint>
#include <string>

#include "engine/base/log.h"
#include "engine/base/result.h"
#include "engine/base/unique_fd.h"
#include "engine/image/proto/netdev.pb.h"
#include "netns/netlink.h"

namespace cryo::netns {

// The device's features, as TUNSETIFF takes them to make it or join it:
// joining sets them too, so they must be the device's own (IFF_PERSIST
// and the per-queue bits are not among them).
inline constexpr uint32_t kTunMakeFlags =
    IFF_TUN | IFF_TAP | IFF_NAPI | IFF_NAPI_FRAGS | IFF_MULTI_QUEUE | IFF_NO_PI | IFF_VNET_HDR;

// What TUNGETIFF and friends say about one tun file.
struct TunFile {
  bool attached = false;  // false: opened, never attached to a device
  std::string name;
  uint32_t flags = 0;     // the device's (IFF_TUN/TAP, NO_PI, VNET_HDR, MULTI_QUEUE, PERSIST, ...)
  bool detached = false;  // a multiqueue device's queue taken off it (TUNSETQUEUE)
  bool filter = false;    // a socket filter attached (TUNATTACHFILTER)
  int vnethdr = 0;
  int sndbuf = 0;
};
Result<TunFile> QueryTunFile(int fd);

// The tun_link_entry of device `name` (kind "tun"): `linkinfo_data` are
// its IFLA_INFO_DATA attributes, `netns_ino` the namespace cryo's thread
// is in. A device with no file to read its settings from is an error.
Result<img::tun_link_entry> DumpTunLink(const std::string& name, const Attrs& linkinfo_data, uint64_t netns_ino,
                                        Log& log);

// A new /dev/net/tun file attached to device `name` with `flags` (made
// if missing; at dumped index `ifindex` when it is free, 0: any).
Result<UniqueFd> AttachTun(const std::string& name, uint32_t flags, uint32_t ifindex = 0, int open_flags = 0);

// Makes dumped device `e` in the calling thread's namespace, with its
// owner, group, vnet header size and send buffer. It is left persistent
// (no fd holds it yet): the first restored file of a device that was not
// drops that (ReleaseTun).
Result<> CreateTunLink(const img::net_device_entry& e);
// `fd`, attached: the device goes when its last file closes, as dumped.
Result<> ReleaseTun(int fd, const std::string& name);

}  // namespace cryo::netns
