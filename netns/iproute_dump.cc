#include "netns/iproute_dump.h"

#include <linux/netlink.h>

#include <cstring>

namespace cryo::netns {

std::string SaveMessages(uint32_t magic, const std::vector<std::string>& msgs) {
  std::string out(reinterpret_cast<const char*>(&magic), sizeof magic);
  for (const auto& m : msgs) out += m;
  return out;
}

Result<std::vector<std::string>> LoadMessages(std::string_view data, uint32_t magic, std::string_view what) {
  uint32_t got = 0;
  if (data.size() < sizeof got) return MakeError(EINVAL, "{}: too short for iproute2's magic", what);
  std::memcpy(&got, data.data(), sizeof got);
  if (got != magic) return MakeError(EINVAL, "{}: magic {:#x}, want {:#x}", what, got, magic);
  std::vector<std::string> out;
  size_t off = sizeof got;
  while (off < data.size()) {
    nlmsghdr h;
    if (data.size() - off < sizeof h) return MakeError(EINVAL, "{}: truncated message at offset {}", what, off);
    std::memcpy(&h, data.data() + off, sizeof h);
    if (h.nlmsg_len < sizeof h || h.nlmsg_len > data.size() - off)
      return MakeError(EINVAL, "{}: bad message length {} at offset {}", what, h.nlmsg_len, off);
    out.emplace_back(data.substr(off, h.nlmsg_len));
    // ip writes each message's nlmsg_len bytes back to back.
    off += h.nlmsg_len;
  }
  return out;
}

}  // namespace cryo::netns
