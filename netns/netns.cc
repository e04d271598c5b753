#include "netns/netns.h"

#include "engine/base/files.h"
#include "engine/image/image_reader.h"
#include "engine/image/image_type.h"
#include "engine/image/image_writer.h"
#include "netns/addr.h"
#include "netns/firewall.h"
#include "netns/in_netns.h"
#include "netns/iproute_dump.h"
#include "netns/link.h"
#include "netns/route.h"
#include "netns/rule.h"
#include "netns/sysctl.h"

namespace cryo::netns {
namespace {

Result<> WriteRaw(int dir, ImageKind kind, uint32_t id, std::string_view data) {
  if (data.empty()) return {};
  ImageWriter w(dir, kind, id);
  CRYO_TRY(w.WriteRaw(data));
  return w.Close();
}

// A RAW image's bytes; "" when the file is not there.
Result<std::string> ReadRaw(int dir, ImageKind kind, uint32_t id) {
  auto r = ReadFileAt(dir, ImageFileName(kind, id));
  if (!r && r.error().err() == ENOENT) return std::string();
  return r;
}

Result<std::vector<std::string>> ReadSaved(int dir, ImageKind kind, uint32_t id, uint32_t magic) {
  std::string data = CRYO_TRY(ReadRaw(dir, kind, id));
  if (data.empty()) return std::vector<std::string>();
  return LoadMessages(data, magic, ImageFileName(kind, id));
}

}  // namespace

Result<> DumpNetns(int netns_fd, int dir, uint32_t id, std::string_view lock_run_id, Log& log) {
  std::vector<img::net_device_entry> devs;
  img::netns_entry ns;
  std::vector<std::string> addrs, routes, routes6, rules;
  {
    auto in = CRYO_TRY(NetnsSwitch::Enter(netns_fd));
    Rtnl rt = CRYO_TRY(Rtnl::Open());
    devs = CRYO_TRY(DumpLinks(rt, id, log));
    CRYO_TRY(ReadConf(4, "default", ns.mutable_def_conf4()));
    CRYO_TRY(ReadConf(4, "all", ns.mutable_all_conf4()));
    CRYO_TRY(ReadConf(6, "default", ns.mutable_def_conf6()));
    CRYO_TRY(ReadConf(6, "all", ns.mutable_all_conf6()));
    CRYO_TRY(ReadUnixConf(ns.mutable_unix_conf()));
    CRYO_TRY(ReadIpv4Sysctls(ns.mutable_ipv4_sysctl()));
    addrs = CRYO_TRY(DumpAddrs(rt));
    routes = CRYO_TRY(DumpRoutes(rt, AF_INET));
    routes6 = CRYO_TRY(DumpRoutes(rt, AF_INET6));
    rules = CRYO_TRY(DumpRules(rt));
  }
  Firewall fw = CRYO_TRY(DumpFirewall(netns_fd, lock_run_id, log));
  {
    ImageWriter w(dir, ImageKind::kNetdev, id);
    for (const auto& d : devs) CRYO_TRY(w.Write(d));
    CRYO_TRY(w.Close());
  }
  CRYO_TRY(WriteSingleEntryImage(dir, ImageKind::kNetns, id, ns));
  // As CRIU does: these four always, even with no message in them.
  CRYO_TRY(WriteRaw(dir, ImageKind::kIfaddr, id, SaveMessages(kIfaddrMagic, addrs)));
  CRYO_TRY(WriteRaw(dir, ImageKind::kRoute, id, SaveMessages(kRouteMagic, routes)));
  CRYO_TRY(WriteRaw(dir, ImageKind::kRoute6, id, SaveMessages(kRouteMagic, routes6)));
  CRYO_TRY(WriteRaw(dir, ImageKind::kRule, id, SaveMessages(kRuleMagic, rules)));
  CRYO_TRY(WriteRaw(dir, ImageKind::kIptables, id, fw.iptables));
  CRYO_TRY(WriteRaw(dir, ImageKind::kIp6tables, id, fw.ip6tables));
  CRYO_TRY(WriteRaw(dir, ImageKind::kNftables, id, fw.nft));
  log.Info("network namespace: {} devices, {} addresses, {}+{} routes, {} rules{}{}", devs.size(), addrs.size(),
           routes.size(), routes6.size(), rules.size(), fw.iptables.empty() && fw.ip6tables.empty() ? "" : ", iptables",
           fw.nft.empty() ? "" : ", nftables");
  return {};
}

Result<NetnsLock> RestoreNetns(int dir, uint32_t id, const NetnsTarget& to, const Options& opts, Log& log) {
  img::netns_entry ns;
  CRYO_TRY(ReadSingleEntryImage(dir, ImageKind::kNetns, id, ns));
  std::vector<img::net_device_entry> devs;
  {
    ImageReader r = CRYO_TRY(ImageReader::Open(dir, ImageKind::kNetdev, id));
    img::net_device_entry e;
    while (CRYO_TRY(r.Next(e))) devs.push_back(e);
  }
  auto addrs = CRYO_TRY(ReadSaved(dir, ImageKind::kIfaddr, id, kIfaddrMagic));
  auto routes = CRYO_TRY(ReadSaved(dir, ImageKind::kRoute, id, kRouteMagic));
  auto routes6 = CRYO_TRY(ReadSaved(dir, ImageKind::kRoute6, id, kRouteMagic));
  auto rules = CRYO_TRY(ReadSaved(dir, ImageKind::kRule, id, kRuleMagic));
  Firewall fw;
  fw.iptables = CRYO_TRY(ReadRaw(dir, ImageKind::kIptables, id));
  fw.ip6tables = CRYO_TRY(ReadRaw(dir, ImageKind::kIp6tables, id));
  fw.nft = CRYO_TRY(ReadRaw(dir, ImageKind::kNftables, id));

  auto in = CRYO_TRY(NetnsSwitch::Enter(to.self_netns));
  Rtnl rt = CRYO_TRY(Rtnl::Open());
  if (!to.fresh) {
    LinkMap links = CRYO_TRY(MapLinks(rt, devs, log));
    CRYO_TRY_CTX(RestoreAddrs(rt, addrs, links, log), "addresses");
    CRYO_TRY_CTX(RestoreRoutes(rt, routes, links, log), "IPv4 routes");
    CRYO_TRY_CTX(RestoreRoutes(rt, routes6, links, log), "IPv6 routes");
    return NetnsLock();
  }
  // "all" before "default" (writing all.forwarding sets every device's),
  // both before the devices exist (new ones start from default).
  CRYO_TRY_CTX(WriteConf(4, "all", ns.all_conf4(), opts.weak_sysctls, log), "sysctls");
  CRYO_TRY_CTX(WriteConf(4, "default", ns.def_conf4(), opts.weak_sysctls, log), "sysctls");
  CRYO_TRY_CTX(WriteConf(6, "all", ns.all_conf6(), opts.weak_sysctls, log), "sysctls");
  CRYO_TRY_CTX(WriteConf(6, "default", ns.def_conf6(), opts.weak_sysctls, log), "sysctls");
  CRYO_TRY_CTX(WriteUnixConf(ns.unix_conf(), opts.weak_sysctls, log), "sysctls");
  CRYO_TRY_CTX(WriteIpv4Sysctls(ns.ipv4_sysctl(), opts.weak_sysctls, log), "sysctls");
  // iptables-restore replaces whole tables: before an iptables lock goes in.
  CRYO_TRY_CTX(RestoreIptables(to.self_netns, fw, log), "iptables");
  NetnsLock lock = CRYO_TRY(NetnsLock::Lock(to.self_netns, to.lock, NewRunId(), log));
  LinkEnv env{to.self_netns, to.host_netns, &opts, &log};
  LinkMap links = CRYO_TRY_CTX(RestoreLinks(rt, devs, env), "network devices");
  CRYO_TRY_CTX(RestoreAddrs(rt, addrs, links, log), "addresses");
  CRYO_TRY_CTX(RestoreRoutes(rt, routes, links, log), "IPv4 routes");
  CRYO_TRY_CTX(RestoreRoutes(rt, routes6, links, log), "IPv6 routes");
  CRYO_TRY_CTX(RestoreRules(rt, rules, true, log), "rules");
  CRYO_TRY_CTX(RestoreNft(to.self_netns, fw, log), "nftables");
  return lock;
}

}  // namespace cryo::netns
