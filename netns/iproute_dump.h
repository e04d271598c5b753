// iproute2's save format, which the ifaddr-, route-, route6- and rule-N
// images hold: a u32 magic (native order), then the raw netlink messages
// of a dump, each nlmsghdr-framed. `ip addr|route|rule restore` read it,
// and so does cryo.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "engine/base/result.h"

namespace cryo::netns {

// iproute2's ip/ipaddress.c, ip/iproute.c, ip/iprule.c.
inline constexpr uint32_t kIfaddrMagic = 0x47361222;
inline constexpr uint32_t kRouteMagic = 0x45311224;
inline constexpr uint32_t kRuleMagic = 0x71706986;

std::string SaveMessages(uint32_t magic, const std::vector<std::string>& msgs);
// The messages of a saved dump; the data is untrusted: the magic and
// every length are checked, an error names `what`.
Result<std::vector<std::string>> LoadMessages(std::string_view data, uint32_t magic, std::string_view what);

}  // namespace cryo::netns
