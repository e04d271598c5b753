// rtnetlink for the network namespace cryo's thread is in: a socket that
// dumps objects and sends requests waiting for their ack, and small
// builders and parsers over libmnl. Messages are kept as the kernel sent
// them (nlmsghdr included): the route/addr/rule images are exactly those
// bytes.
#pragma once

#include <libmnl/libmnl.h>
#include <linux/rtnetlink.h>

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "engine/base/result.h"
#include "engine/base/unique_fd.h"

namespace cryo::netns {

class Rtnl {
 public:
  // A NETLINK_ROUTE socket in the current thread's network namespace.
  static Result<Rtnl> Open();

  // Every message of a dump of `type` (RTM_GETLINK, RTM_GETADDR, ...)
  // for `family`, NLMSG_DONE excluded.
  Result<std::vector<std::string>> Dump(uint16_t type, uint8_t family);
  // Sends one request (REQUEST and ACK flags added, sequence set) and
  // waits for the kernel's answer: an error carries the kernel's errno.
  Result<> Talk(std::string msg);

 private:
  explicit Rtnl(UniqueFd fd) : fd_(std::move(fd)) {}
  Result<> Send(const std::string& msg);
  UniqueFd fd_;
  uint32_t seq_ = 1;
};

// A request under construction: the netlink header, the family header,
// then attributes (nested ones with Nest/End).
class NlBuilder {
 public:
  NlBuilder(uint16_t type, uint16_t flags);
  template <typename T>
  T* Header() {
    return static_cast<T*>(mnl_nlmsg_put_extra_header(nlh(), sizeof(T)));
  }
  void Put(uint16_t type, const void* data, size_t len) { mnl_attr_put(nlh(), type, len, data); }
  void PutU32(uint16_t type, uint32_t v) { mnl_attr_put_u32(nlh(), type, v); }
  void PutStr(uint16_t type, std::string_view s);
  nlattr* Nest(uint16_t type) { return mnl_attr_nest_start(nlh(), type); }
  void End(nlattr* nest) { mnl_attr_nest_end(nlh(), nest); }
  nlmsghdr* nlh() { return reinterpret_cast<nlmsghdr*>(buf_.data()); }
  std::string Take() const { return std::string(buf_.data(), reinterpret_cast<const nlmsghdr*>(buf_.data())->nlmsg_len); }

 private:
  std::vector<char> buf_;
};

// Attributes indexed by type (nullptr when absent); types above `max`
// are ignored.
using Attrs = std::vector<const nlattr*>;
Attrs ParseAttrs(const nlmsghdr* nlh, size_t header_len, uint16_t max);
Attrs ParseNested(const nlattr* nest, uint16_t max);
inline const nlmsghdr* Hdr(const std::string& msg) { return reinterpret_cast<const nlmsghdr*>(msg.data()); }
template <typename T>
const T* Payload(const std::string& msg) {
  return static_cast<const T*>(mnl_nlmsg_get_payload(Hdr(msg)));
}
std::string AttrStr(const nlattr* a);

// Calls fn(nlattr*) for each attribute after the first `offset` payload
// bytes (libmnl's mnl_attr_for_each, which C++ cannot compile).
template <typename Fn>
void ForEachAttr(nlmsghdr* h, size_t offset, Fn fn) {
  auto* tail = static_cast<char*>(mnl_nlmsg_get_payload_tail(h));
  for (auto* a = static_cast<nlattr*>(mnl_nlmsg_get_payload_offset(h, offset));
       mnl_attr_ok(a, static_cast<int>(tail - reinterpret_cast<char*>(a))); a = mnl_attr_next(a))
    fn(a);
}

}  // namespace cryo::netns
