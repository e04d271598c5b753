#include "netns/link.h"

#include <linux/if.h>
#include <linux/if_arp.h>
#include <linux/if_link.h>
#include <linux/veth.h>

#include <set>

#include "netns/in_netns.h"
#include "netns/sysctl.h"
#include "netns/tun.h"

namespace cryo::netns {
namespace {

// Devices the kernel makes in every new namespace once their module is
// loaded: they come back by themselves.
bool KernelMade(const std::string& name, const std::string& kind) {
  static const std::pair<const char*, const char*> kFallback[] = {
      {"tunl0", "ipip"},     {"sit0", "sit"},           {"ip6tnl0", "ip6tnl"},   {"gre0", "gre"},
      {"gretap0", "gretap"}, {"erspan0", "erspan"},     {"ip6gre0", "ip6gre"},   {"ip6gretap0", "ip6gretap"},
      {"ip_vti0", "vti"},    {"ip6_vti0", "vti6"},      {"ip6erspan0", "ip6erspan"}};
  for (const auto& [n, k] : kFallback)
    if (name == n && kind == k) return true;
  return false;
}

struct Link {
  const ifinfomsg* ifi;
  Attrs tb;
  Attrs info;
  std::string name, kind;
};

Link ParseLink(const std::string& msg) {
  Link l;
  l.ifi = Payload<ifinfomsg>(msg);
  l.tb = ParseAttrs(Hdr(msg), sizeof(ifinfomsg), IFLA_MAX);
  l.info = ParseNested(l.tb[IFLA_LINKINFO], IFLA_INFO_MAX);
  l.name = AttrStr(l.tb[IFLA_IFNAME]);
  l.kind = AttrStr(l.info[IFLA_INFO_KIND]);
  return l;
}

Result<std::vector<Link>> Links(Rtnl& rt, std::vector<std::string>& keep) {
  keep = CRYO_TRY_CTX(rt.Dump(RTM_GETLINK, AF_UNSPEC), "list network devices");
  std::vector<Link> out;
  for (const auto& m : keep) out.push_back(ParseLink(m));
  return out;
}

Result<img::nd_type> TypeOf(const Link& l) {
  if (l.ifi->ifi_type == ARPHRD_LOOPBACK && l.kind.empty()) return img::LOOPBACK;
  if (l.kind == "veth") return img::VETH;
  if (l.kind == "bridge") return img::BRIDGE;
  if (l.kind == "macvlan") return img::MACVLAN;
  if (l.kind == "tun") return img::TUN;
  return MakeError(ENOTSUP, "network device {} is of kind '{}': not supported", l.name,
                   l.kind.empty() ? "none" : l.kind);
}

}  // namespace

Result<std::vector<img::net_device_entry>> DumpLinks(Rtnl& rt, uint32_t ns_id, Log& log) {
  std::vector<std::string> msgs;
  std::vector<Link> links = CRYO_TRY(Links(rt, msgs));
  UniqueFd self_ns = CRYO_TRY(OpenNetns(0));  // the one being dumped: cryo's thread is in it
  uint64_t ns_ino = CRYO_TRY(NetnsInode(self_ns.get()));
  std::vector<img::net_device_entry> out;
  for (const Link& l : links) {
    if (KernelMade(l.name, l.kind)) {
      log.Info("network device {} ({}): made by the kernel, not dumped", l.name, l.kind);
      continue;
    }
    img::net_device_entry e;
    e.set_type(CRYO_TRY(TypeOf(l)));
    e.set_ifindex(static_cast<uint32_t>(l.ifi->ifi_index));
    e.set_mtu(l.tb[IFLA_MTU] ? mnl_attr_get_u32(l.tb[IFLA_MTU]) : 0);
    e.set_flags(l.ifi->ifi_flags);
    e.set_name(l.name);
    if (l.tb[IFLA_ADDRESS] && e.type() != img::LOOPBACK)
      e.set_address(mnl_attr_get_payload(l.tb[IFLA_ADDRESS]), mnl_attr_get_payload_len(l.tb[IFLA_ADDRESS]));
    if (l.tb[IFLA_MASTER]) e.set_master(mnl_attr_get_u32(l.tb[IFLA_MASTER]));
    if (e.type() == img::VETH) {
      e.set_peer_ifindex(l.tb[IFLA_LINK] ? mnl_attr_get_u32(l.tb[IFLA_LINK]) : 0);
      // No link netnsid: the peer is in this namespace too.
      if (!l.tb[IFLA_LINK_NETNSID]) e.set_peer_nsid(ns_id);
    }
    if (e.type() == img::MACVLAN) {
      Attrs data = ParseNested(l.info[IFLA_INFO_DATA], IFLA_MACVLAN_MAX);
      auto* m = e.mutable_macvlan();
      m->set_mode(data[IFLA_MACVLAN_MODE] ? mnl_attr_get_u32(data[IFLA_MACVLAN_MODE]) : static_cast<uint32_t>(MACVLAN_MODE_VEPA));
      if (data[IFLA_MACVLAN_FLAGS]) m->set_flags(mnl_attr_get_u16(data[IFLA_MACVLAN_FLAGS]));
    }
    if (e.type() == img::TUN)
      *e.mutable_tun() = CRYO_TRY(DumpTunLink(l.name, ParseNested(l.info[IFLA_INFO_DATA], IFLA_TUN_MAX), ns_ino, log));
    CRYO_TRY_CTX(ReadConf(4, l.name, e.mutable_conf4()), "sysctls of {}", l.name);
    CRYO_TRY_CTX(ReadConf(6, l.name, e.mutable_conf6()), "sysctls of {}", l.name);
    log.Info("network device {}: index {}, type {}, mtu {}", l.name, e.ifindex(), img::nd_type_Name(e.type()), e.mtu());
    out.push_back(std::move(e));
  }
  return out;
}

bool VethPeerFor(const Options& opts, const std::string& in, std::string* out, std::string* bridge) {
  std::string want = fmt::format("veth[{}]:", in);
  for (const auto& e : opts.external) {
    if (!e.starts_with(want)) continue;
    std::string v = e.substr(want.size());
    size_t at = v.find('@');
    *out = v.substr(0, at);
    *bridge = at == std::string::npos ? "" : v.substr(at + 1);
    return true;
  }
  for (const auto& v : opts.veths) {
    if (v.in != in) continue;
    *out = v.out;
    *bridge = v.bridge;
    // RPC's criu_veth_pair carries "OUT@BRIDGE" in if_out.
    if (size_t at = out->find('@'); bridge->empty() && at != std::string::npos) {
      *bridge = out->substr(at + 1);
      out->resize(at);
    }
    return true;
  }
  return false;
}

namespace {

// The value of --external KIND[IN]:VALUE, "" when not given.
std::string ExternalFor(const Options& opts, std::string_view kind, const std::string& in) {
  std::string want = fmt::format("{}[{}]:", kind, in);
  for (const auto& e : opts.external)
    if (e.starts_with(want)) return e.substr(want.size());
  return "";
}

// A veth made beforehand in the host's namespace (--external
// netdev[IN]:ORIG), moved into the namespace under its dumped name and
// index, as CRIU does.
Result<> MoveVeth(Rtnl& host, const img::net_device_entry& e, const std::string& orig, int self_netns) {
  std::vector<std::string> msgs;
  uint32_t index = 0;
  for (const Link& l : CRYO_TRY(Links(host, msgs)))
    if (l.name == orig) index = static_cast<uint32_t>(l.ifi->ifi_index);
  if (!index) return MakeError(ENODEV, "veth {}: --external netdev[{}]:{} names no device here", e.name(), e.name(), orig);
  for (bool keep : {true, false}) {
    NlBuilder b(RTM_NEWLINK, 0);
    auto* ifi = b.Header<ifinfomsg>();
    ifi->ifi_family = AF_UNSPEC;
    ifi->ifi_index = static_cast<int>(index);
    b.PutU32(IFLA_NET_NS_FD, static_cast<uint32_t>(self_netns));
    b.PutStr(IFLA_IFNAME, e.name());
    if (e.mtu()) b.PutU32(IFLA_MTU, e.mtu());
    if (keep) b.PutU32(IFLA_NEW_IFINDEX, e.ifindex());
    auto r = host.Talk(b.Take());
    if (r) return {};
    if (keep && (r.error().err() == EBUSY || r.error().err() == EEXIST)) continue;
    return std::unexpected(r.error().context(fmt::format("move veth {} in as {}", orig, e.name())));
  }
  return {};
}

Result<> DeleteLink(Rtnl& rt, const std::string& name) {
  NlBuilder b(RTM_DELLINK, 0);
  b.Header<ifinfomsg>()->ifi_family = AF_UNSPEC;
  b.PutStr(IFLA_IFNAME, name);
  return rt.Talk(b.Take());
}

Result<uint32_t> IndexOf(Rtnl& rt, const std::string& name) {
  std::vector<std::string> msgs;
  for (const Link& l : CRYO_TRY(Links(rt, msgs)))
    if (l.name == name) return static_cast<uint32_t>(l.ifi->ifi_index);
  return MakeError(ENODEV, "no network device {}", name);
}

// The start of an RTM_NEWLINK creating `e` (index, name, MTU, address).
// A bridge whose address is one of its ports': the kernel gave it that
// one and keeps it following its ports; setting it would pin it.
bool Inherited(const img::net_device_entry& e, const std::vector<img::net_device_entry>& devs) {
  if (e.type() != img::BRIDGE) return false;
  for (const auto& p : devs)
    if (p.has_master() && p.master() == e.ifindex() && p.address() == e.address()) return true;
  return false;
}

NlBuilder NewLink(const img::net_device_entry& e, bool keep_index) {
  NlBuilder b(RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL);
  auto* ifi = b.Header<ifinfomsg>();
  ifi->ifi_family = AF_UNSPEC;
  ifi->ifi_index = keep_index ? static_cast<int>(e.ifindex()) : 0;
  b.PutStr(IFLA_IFNAME, e.name());
  if (e.mtu()) b.PutU32(IFLA_MTU, e.mtu());
  if (e.has_address() && !e.address().empty() && e.type() != img::BRIDGE)
    b.Put(IFLA_ADDRESS, e.address().data(), e.address().size());
  return b;
}

// Creates one device; `make` fills the kind-specific part. The dumped
// index is asked for (addresses and routes name devices by it); when the
// kernel has it taken, the device gets another and the map follows.
template <typename Fn>
Result<> Create(Rtnl& rt, const img::net_device_entry& e, Fn make) {
  for (bool keep : {true, false}) {
    NlBuilder b = NewLink(e, keep);
    CRYO_TRY(make(b));
    auto r = rt.Talk(b.Take());
    if (r) return {};
    if (keep && (r.error().err() == EBUSY || r.error().err() == EEXIST)) continue;
    return std::unexpected(r.error().context(fmt::format("create {} {}", img::nd_type_Name(e.type()), e.name())));
  }
  return {};
}

Result<> SetMasterUp(Rtnl& rt, uint32_t index, uint32_t master, bool up) {
  NlBuilder b(RTM_NEWLINK, 0);
  auto* ifi = b.Header<ifinfomsg>();
  ifi->ifi_index = static_cast<int>(index);
  if (up) {
    ifi->ifi_flags = IFF_UP;
    ifi->ifi_change = IFF_UP;
  }
  if (master) b.PutU32(IFLA_MASTER, master);
  return rt.Talk(b.Take());
}

Result<LinkMap> RestoreLinksMaking(Rtnl& rt, const std::vector<img::net_device_entry>& devs, const LinkEnv& env,
                                   std::vector<std::string>& outer) {
  const Options& opts = *env.opts;
  Log& log = *env.log;
  std::optional<Rtnl> host;
  auto host_rtnl = [&]() -> Result<Rtnl*> {
    if (!host) {
      auto in = CRYO_TRY(NetnsSwitch::Enter(env.host_netns));
      host.emplace(CRYO_TRY(Rtnl::Open()));
    }
    return &*host;
  };
  std::set<uint32_t> made;  // dumped indexes created already (the far end of an inner veth pair)
  struct Bridged {
    std::string out, bridge;
  };
  std::vector<Bridged> bridged;
  for (const auto& e : devs) {
    if (e.type() == img::LOOPBACK || made.count(e.ifindex())) continue;
    switch (e.type()) {
      case img::BRIDGE:
        CRYO_TRY(Create(rt, e, [](NlBuilder& b) -> Result<> {
          nlattr* li = b.Nest(IFLA_LINKINFO);
          b.PutStr(IFLA_INFO_KIND, "bridge");
          b.End(li);
          return {};
        }));
        break;
      case img::VETH: {
        const img::net_device_entry* inner = nullptr;
        std::string out, bridge;
        if (std::string orig = ExternalFor(opts, "netdev", e.name()); !orig.empty()) {
          CRYO_TRY(MoveVeth(*CRYO_TRY(host_rtnl()), e, orig, env.self_netns));
          log.Info("veth {}: moved in from {}", e.name(), orig);
          break;
        }
        if (e.has_peer_nsid()) {
          for (const auto& p : devs)
            if (p.ifindex() == e.peer_ifindex() && p.type() == img::VETH) inner = &p;
          if (!inner) return MakeError(EINVAL, "veth {}: its peer {} is not in the image", e.name(), e.peer_ifindex());
        } else if (!VethPeerFor(opts, e.name(), &out, &bridge)) {
          return MakeError(ENOENT,
                           "veth {} had its peer outside the namespace: restore with --external veth[{}]:NAME[@BRIDGE] "
                           "or --external netdev[{}]:EXISTING",
                           e.name(), e.name(), e.name());
        }
        CRYO_TRY(Create(rt, e, [&](NlBuilder& b) -> Result<> {
          nlattr* li = b.Nest(IFLA_LINKINFO);
          b.PutStr(IFLA_INFO_KIND, "veth");
          nlattr* data = b.Nest(IFLA_INFO_DATA);
          nlattr* peer = b.Nest(VETH_INFO_PEER);
          auto* pi = b.Header<ifinfomsg>();
          pi->ifi_family = AF_UNSPEC;
          if (inner) {
            pi->ifi_index = static_cast<int>(inner->ifindex());
            b.PutStr(IFLA_IFNAME, inner->name());
            if (inner->has_address() && !inner->address().empty())
              b.Put(IFLA_ADDRESS, inner->address().data(), inner->address().size());
          } else {
            b.PutStr(IFLA_IFNAME, out);
            uint32_t fd = static_cast<uint32_t>(env.host_netns);
            b.PutU32(IFLA_NET_NS_FD, fd);
          }
          if (e.mtu()) b.PutU32(IFLA_MTU, e.mtu());
          b.End(peer);
          b.End(data);
          b.End(li);
          return {};
        }));
        if (inner) made.insert(inner->ifindex());
        if (!inner) outer.push_back(out);
        if (!bridge.empty()) bridged.push_back({out, bridge});
        log.Info("veth {}: peer {}{}{}", e.name(), inner ? inner->name() : out, bridge.empty() ? "" : " on ", bridge);
        break;
      }
      case img::MACVLAN: {
        std::string lower = ExternalFor(opts, "macvlan", e.name());
        if (lower.empty())
          return MakeError(ENOENT, "macvlan {}: restore with --external macvlan[{}]:DEVICE (its lower device)", e.name(),
                           e.name());
        if (!e.has_macvlan()) return MakeError(EINVAL, "macvlan {}: no macvlan entry in the image", e.name());
        Rtnl* h = CRYO_TRY(host_rtnl());
        uint32_t link = CRYO_TRY_CTX(IndexOf(*h, lower), "macvlan {}", e.name());
        // Made on its lower device's side, born into the namespace.
        CRYO_TRY(Create(*h, e, [&](NlBuilder& b) -> Result<> {
          b.PutU32(IFLA_LINK, link);
          b.PutU32(IFLA_NET_NS_FD, static_cast<uint32_t>(env.self_netns));
          nlattr* li = b.Nest(IFLA_LINKINFO);
          b.PutStr(IFLA_INFO_KIND, "macvlan");
          nlattr* data = b.Nest(IFLA_INFO_DATA);
          b.PutU32(IFLA_MACVLAN_MODE, e.macvlan().mode());
          if (e.macvlan().has_flags()) {
            uint16_t f = static_cast<uint16_t>(e.macvlan().flags());
            b.Put(IFLA_MACVLAN_FLAGS, &f, sizeof f);
          }
          b.End(data);
          b.End(li);
          return {};
        }));
        break;
      }
      case img::TUN:
        // Made by its file; addresses and the rest as for any device below.
        CRYO_TRY(CreateTunLink(e));
        break;
      default:
        return MakeError(ENOTSUP, "network device {}: type {} is not supported", e.name(), img::nd_type_Name(e.type()));
    }
  }
  LinkMap map = CRYO_TRY(MapLinks(rt, devs, log));
  // Configured: MTU and address (the far end of an inner pair, lo), its
  // master, its sysctls (before up: autoconf and DAD read them).
  for (const auto& e : devs) {
    uint32_t now = map.Of(e.ifindex());
    if (!now) return MakeError(ENODEV, "network device {} is missing after it was made", e.name());
    NlBuilder b(RTM_NEWLINK, 0);
    b.Header<ifinfomsg>()->ifi_index = static_cast<int>(now);
    if (e.mtu()) b.PutU32(IFLA_MTU, e.mtu());
    if (e.type() != img::LOOPBACK && e.has_address() && !e.address().empty() && !Inherited(e, devs))
      b.Put(IFLA_ADDRESS, e.address().data(), e.address().size());
    if (e.has_master() && e.master()) {
      uint32_t m = map.Of(e.master());
      if (!m) return MakeError(ENODEV, "network device {}: its master {} is not in the image", e.name(), e.master());
      b.PutU32(IFLA_MASTER, m);
    }
    CRYO_TRY_CTX(rt.Talk(b.Take()), "configure {}", e.name());
    CRYO_TRY_CTX(WriteConf(4, e.name(), e.conf4(), opts.weak_sysctls, log), "sysctls of {}", e.name());
    CRYO_TRY_CTX(WriteConf(6, e.name(), e.conf6(), opts.weak_sysctls, log), "sysctls of {}", e.name());
  }
  for (const auto& e : devs) {
    NlBuilder b(RTM_NEWLINK, 0);
    auto* ifi = b.Header<ifinfomsg>();
    ifi->ifi_index = static_cast<int>(map.Of(e.ifindex()));
    // Only what a user sets; promiscuity and the like follow from masters.
    ifi->ifi_change = IFF_UP | IFF_NOARP | IFF_MULTICAST;
    ifi->ifi_flags = e.flags() & ifi->ifi_change;
    CRYO_TRY_CTX(rt.Talk(b.Take()), "set flags of {}", e.name());
  }
  // The outer ends onto their bridges, up (as `brctl addif` and `ip link
  // set up` would).
  for (const auto& b : bridged) {
    Rtnl* h = CRYO_TRY(host_rtnl());
    uint32_t out = CRYO_TRY(IndexOf(*h, b.out));
    uint32_t br = CRYO_TRY_CTX(IndexOf(*h, b.bridge), "bridge for veth {}", b.out);
    CRYO_TRY_CTX(SetMasterUp(*h, out, br, true), "attach {} to bridge {}", b.out, b.bridge);
  }
  return map;
}

}  // namespace

Result<LinkMap> RestoreLinks(Rtnl& rt, const std::vector<img::net_device_entry>& devs, const LinkEnv& env) {
  std::vector<std::string> outer;  // veth ends made in the host's namespace
  auto r = RestoreLinksMaking(rt, devs, env, outer);
  if (!r && !outer.empty()) {
    // A failed restore leaves no veth behind on the host (the namespace's
    // own devices go with it).
    auto in = NetnsSwitch::Enter(env.host_netns);
    auto host = Rtnl::Open();
    if (in && host)
      for (const auto& name : outer) (void)DeleteLink(*host, name);
  }
  return r;
}

Result<LinkMap> MapLinks(Rtnl& rt, const std::vector<img::net_device_entry>& devs, Log& log) {
  std::vector<std::string> msgs;
  std::vector<Link> links = CRYO_TRY(Links(rt, msgs));
  LinkMap map;
  for (const auto& e : devs) {
    bool found = false;
    for (const Link& l : links)
      if (l.name == e.name()) {
        map.Add(e.ifindex(), static_cast<uint32_t>(l.ifi->ifi_index));
        found = true;
      }
    if (!found) log.Info("network device {} is not in the namespace: not restored", e.name());
  }
  return map;
}

}  // namespace cryo::netns
