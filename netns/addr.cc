#include "netns/addr.h"

#include <arpa/inet.h>
#include <linux/if_addr.h>

#include <cstring>

namespace cryo::netns {

Result<std::vector<std::string>> DumpAddrs(Rtnl& rt) { return CRYO_TRY_CTX(rt.Dump(RTM_GETADDR, AF_UNSPEC), "list addresses"); }

namespace {

std::string Text(const ifaddrmsg* ifa, const Attrs& tb) {
  const nlattr* a = tb[IFA_LOCAL] ? tb[IFA_LOCAL] : tb[IFA_ADDRESS];
  char buf[INET6_ADDRSTRLEN] = "?";
  if (a) ::inet_ntop(ifa->ifa_family, mnl_attr_get_payload(a), buf, sizeof buf);
  return fmt::format("{}/{}", buf, ifa->ifa_prefixlen);
}

bool KernelMade(const ifaddrmsg* ifa, const Attrs& tb, uint32_t flags) {
  const nlattr* a = tb[IFA_LOCAL] ? tb[IFA_LOCAL] : tb[IFA_ADDRESS];
  if (!a) return true;
  const auto* b = static_cast<const uint8_t*>(mnl_attr_get_payload(a));
  if (ifa->ifa_family == AF_INET) return ifa->ifa_scope == RT_SCOPE_HOST && b[0] == 127 && ifa->ifa_prefixlen == 8;
  if (ifa->ifa_family != AF_INET6) return false;
  static const uint8_t kLoop6[16] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
  if (std::memcmp(b, kLoop6, 16) == 0) return true;
  if (flags & IFA_F_TEMPORARY) return true;
  return b[0] == 0xfe && (b[1] & 0xc0) == 0x80 && ifa->ifa_scope == RT_SCOPE_LINK;
}

}  // namespace

Result<> RestoreAddrs(Rtnl& rt, const std::vector<std::string>& msgs, const LinkMap& links, Log& log) {
  for (const auto& m : msgs) {
    if (m.size() < NLMSG_LENGTH(sizeof(ifaddrmsg)) || Hdr(m)->nlmsg_type != RTM_NEWADDR) continue;
    const auto* ifa = Payload<ifaddrmsg>(m);
    Attrs tb = ParseAttrs(Hdr(m), sizeof(ifaddrmsg), IFA_MAX);
    uint32_t flags = tb[IFA_FLAGS] ? mnl_attr_get_u32(tb[IFA_FLAGS]) : ifa->ifa_flags;
    if (KernelMade(ifa, tb, flags)) continue;
    uint32_t dev = links.Of(ifa->ifa_index);
    if (!dev) {
      log.Info("address {}: its device {} was not restored", Text(ifa, tb), ifa->ifa_index);
      continue;
    }
    std::string req = m;
    auto* h = reinterpret_cast<nlmsghdr*>(req.data());
    h->nlmsg_flags = NLM_F_CREATE | NLM_F_EXCL;
    static_cast<ifaddrmsg*>(mnl_nlmsg_get_payload(h))->ifa_index = dev;
    auto r = rt.Talk(std::move(req));
    if (!r && r.error().err() != EEXIST) return std::unexpected(r.error().context(fmt::format("add address {}", Text(ifa, tb))));
  }
  return {};
}

}  // namespace cryo::netns
