#include "netns/route.h"

#include <arpa/inet.h>

#include <cstring>

namespace cryo::netns {

Result<std::vector<std::string>> DumpRoutes(Rtnl& rt, uint8_t family) {
  std::vector<std::string> all = CRYO_TRY_CTX(rt.Dump(RTM_GETROUTE, family), "list routes");
  std::vector<std::string> out;
  for (auto& m : all) {
    if (m.size() < NLMSG_LENGTH(sizeof(rtmsg))) continue;
    // Cached clones are not configuration.
    if (Payload<rtmsg>(m)->rtm_flags & RTM_F_CLONED) continue;
    out.push_back(std::move(m));
  }
  return out;
}

namespace {

uint32_t TableOf(const rtmsg* r, const Attrs& tb) { return tb[RTA_TABLE] ? mnl_attr_get_u32(tb[RTA_TABLE]) : r->rtm_table; }

std::string Text(const rtmsg* r, const Attrs& tb) {
  char buf[INET6_ADDRSTRLEN] = "default";
  if (tb[RTA_DST]) ::inet_ntop(r->rtm_family, mnl_attr_get_payload(tb[RTA_DST]), buf, sizeof buf);
  return fmt::format("{}/{} table {}", buf, r->rtm_dst_len, TableOf(r, tb));
}

bool SameAttr(const nlattr* a, const nlattr* b) {
  return a && b && mnl_attr_get_payload_len(a) == mnl_attr_get_payload_len(b) &&
         std::memcmp(mnl_attr_get_payload(a), mnl_attr_get_payload(b), mnl_attr_get_payload_len(a)) == 0;
}

// iproute2's restore passes: 0 routes to local addresses, 1 to local
// networks, 2 the rest (through a gateway, multipath).
int PassOf(const Attrs& tb) {
  bool via = tb[RTA_GATEWAY] || tb[RTA_MULTIPATH] || tb[RTA_VIA];
  if (via) return 2;
  if (!tb[RTA_PREFSRC] || SameAttr(tb[RTA_PREFSRC], tb[RTA_DST])) return 0;
  return 1;
}

// The message with its device indexes mapped; false when one of them
// was not restored.
bool Remap(std::string& msg, const LinkMap& links) {
  auto* h = reinterpret_cast<nlmsghdr*>(msg.data());
  bool ok = true;
  ForEachAttr(h, sizeof(rtmsg), [&](nlattr* a) {
    uint16_t t = mnl_attr_get_type(a);
    if ((t == RTA_OIF || t == RTA_IIF) && mnl_attr_get_payload_len(a) >= 4) {
      auto* p = static_cast<uint32_t*>(mnl_attr_get_payload(a));
      if (!(*p = links.Of(*p))) ok = false;
    } else if (t == RTA_MULTIPATH) {
      auto* nh = static_cast<rtnexthop*>(mnl_attr_get_payload(a));
      int left = static_cast<int>(mnl_attr_get_payload_len(a));
      while (RTNH_OK(nh, left)) {
        if (!(nh->rtnh_ifindex = static_cast<int>(links.Of(static_cast<uint32_t>(nh->rtnh_ifindex))))) ok = false;
        left -= RTNH_ALIGN(nh->rtnh_len);
        nh = RTNH_NEXT(nh);
      }
    }
  });
  return ok;
}

}  // namespace

Result<> RestoreRoutes(Rtnl& rt, const std::vector<std::string>& msgs, const LinkMap& links, Log& log) {
  for (int pass = 0; pass < 3; pass++) {
    for (const auto& m : msgs) {
      if (m.size() < NLMSG_LENGTH(sizeof(rtmsg)) || Hdr(m)->nlmsg_type != RTM_NEWROUTE) continue;
      const auto* r = Payload<rtmsg>(m);
      Attrs tb = ParseAttrs(Hdr(m), sizeof(rtmsg), RTA_MAX);
      if (TableOf(r, tb) == RT_TABLE_LOCAL || r->rtm_protocol == RTPROT_KERNEL) continue;
      if (PassOf(tb) != pass) continue;
      std::string req = m;
      if (!Remap(req, links)) {
        if (pass == 0) log.Info("route {}: its device was not restored", Text(r, tb));
        continue;
      }
      auto* h = reinterpret_cast<nlmsghdr*>(req.data());
      h->nlmsg_flags = NLM_F_CREATE | NLM_F_EXCL;
      auto res = rt.Talk(std::move(req));
      if (!res && res.error().err() != EEXIST)
        return std::unexpected(res.error().context(fmt::format("add route {}", Text(r, tb))));
    }
  }
  return {};
}

}  // namespace cryo::netns
