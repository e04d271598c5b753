// Per-device and namespace-wide sysctls of a network namespace
// (net.ipv4.conf.DEV.*, net.ipv6.conf.DEV.*, net.unix.*), stored as CRIU
// stores them: one sysctl_entry per name of a fixed list, in the list's
// order (the entries carry no names), with no value when the kernel has
// no such file. Read and written in the calling thread's namespace.
#pragma once

#include <google/protobuf/repeated_ptr_field.h>

#include <string_view>

#include "engine/base/log.h"
#include "engine/base/result.h"
#include "engine/image/proto/netdev.pb.h"

namespace cryo::netns {

using Sysctls = google::protobuf::RepeatedPtrField<img::sysctl_entry>;

// ipv: 4 or 6; dev: a device name, "all" or "default".
Result<> ReadConf(int ipv, std::string_view dev, Sysctls* out);
// Writes what differs from the current value. `weak`: a sysctl the
// kernel refuses is a warning, not an error (--weak-sysctls).
Result<> WriteConf(int ipv, std::string_view dev, const Sysctls& conf, bool weak, Log& log);
Result<> ReadUnixConf(Sysctls* out);
Result<> WriteUnixConf(const Sysctls& conf, bool weak, Log& log);
// net.ipv4 sysctls of the namespace (ping_group_range: before any ping
// socket is made again).
Result<> ReadIpv4Sysctls(Sysctls* out);
Result<> WriteIpv4Sysctls(const Sysctls& conf, bool weak, Log& log);

}  // namespace cryo::netns
