#include "netns/sysctl.h"

#include <fcntl.h>
#include <unistd.h>

#include <array>
#include <charconv>
#include <optional>

#include "engine/base/files.h"

namespace cryo::netns {
namespace {

// CRIU's lists (criu/net.c devconfs4, devconfs6, unix_conf_entries): the
// positions are the image format.
constexpr std::array<std::string_view, 30> kConf4 = {
    "accept_local", "accept_redirects", "accept_source_route", "arp_accept", "arp_announce", "arp_filter",
    "arp_ignore", "arp_notify", "bootp_relay", "disable_policy", "disable_xfrm", "force_igmp_version",
    "forwarding", "igmpv2_unsolicited_report_interval", "igmpv3_unsolicited_report_interval", "log_martians",
    "medium_id", "promote_secondaries", "proxy_arp", "proxy_arp_pvlan", "route_localnet", "rp_filter",
    "secure_redirects", "send_redirects", "shared_media", "src_valid_mark", "tag", "ignore_routes_with_linkdown",
    "drop_gratuitous_arp", "drop_unicast_in_l2_multicast"};
constexpr std::array<std::string_view, 42> kConf6 = {
    "accept_dad", "accept_ra", "accept_ra_defrtr", "accept_ra_from_local", "accept_ra_min_hop_limit",
    "accept_ra_mtu", "accept_ra_pinfo", "accept_ra_rt_info_max_plen", "accept_ra_rtr_pref", "accept_redirects",
    "accept_source_route", "autoconf", "dad_transmits", "disable_ipv6", "drop_unicast_in_l2_multicast",
    "drop_unsolicited_na", "force_mld_version", "force_tllao", "forwarding", "hop_limit",
    "ignore_routes_with_linkdown", "keep_addr_on_down", "max_addresses", "max_desync_factor",
    "mldv1_unsolicited_report_interval", "mldv2_unsolicited_report_interval", "mtu", "ndisc_notify",
    "optimistic_dad", "proxy_ndp", "regen_max_retry", "router_probe_interval", "router_solicitation_delay",
    "router_solicitation_interval", "router_solicitations", "stable_secret", "suppress_frag_ndisc",
    "temp_prefered_lft", "temp_valid_lft", "use_oif_addrs_only", "use_optimistic", "use_tempaddr"};
constexpr std::array<std::string_view, 1> kUnix = {"max_dgram_qlen"};
// CRIU's ipv4_sysctl: the groups that may make ping sockets (a string).
constexpr std::array<std::string_view, 1> kIpv4 = {"ping_group_range"};

constexpr std::string_view kStable = "stable_secret";

// The value of a sysctl file, trimmed; nullopt when there is none (no
// file, or stable_secret never set: EIO).
Result<std::optional<std::string>> ReadValue(const std::string& path) {
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd) {
    if (errno == ENOENT || errno == EACCES || errno == EPERM) return std::nullopt;
    return ErrnoError("open {}", path);
  }
  char buf[256];
  ssize_t n = ::read(fd.get(), buf, sizeof buf - 1);
  if (n < 0) {
    if (errno == EIO || errno == EINVAL || errno == EPERM) return std::nullopt;
    return ErrnoError("read {}", path);
  }
  std::string s(buf, static_cast<size_t>(n));
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
  return s;
}

template <size_t N>
Result<> ReadList(const std::string& dir, const std::array<std::string_view, N>& names, Sysctls* out) {
  for (std::string_view name : names) {
    img::sysctl_entry* e = out->Add();
    std::string path = fmt::format("{}/{}", dir, name);
    auto v = CRYO_TRY(ReadValue(path));
    if (name == kStable || name == "ping_group_range") {
      e->set_type(img::CTL_STR);
      if (v) e->set_sarg(*v);
      continue;
    }
    e->set_type(img::CTL_32);
    if (!v) continue;
    int32_t i = 0;
    auto [p, ec] = std::from_chars(v->data(), v->data() + v->size(), i);
    if (ec == std::errc()) e->set_iarg(i);
  }
  return {};
}

template <size_t N>
Result<> WriteList(const std::string& dir, const std::array<std::string_view, N>& names, const Sysctls& conf,
                   bool weak, Log& log) {
  if (static_cast<size_t>(conf.size()) > N) log.Warn("{}: the image holds {} sysctls, {} known", dir, conf.size(), N);
  auto write_one = [&](size_t i) -> Result<> {
    const img::sysctl_entry& e = conf.Get(static_cast<int>(i));
    std::string want;
    if (e.type() == img::CTL_STR && e.has_sarg()) want = e.sarg();
    else if (e.type() == img::CTL_32 && e.has_iarg()) want = fmt::format("{}", e.iarg());
    else return {};
    std::string path = fmt::format("{}/{}", dir, names[i]);
    auto now = CRYO_TRY(ReadValue(path));
    if (now && *now == want) return {};
    UniqueFd fd(::open(path.c_str(), O_WRONLY | O_CLOEXEC));
    if (!fd || ::write(fd.get(), want.data(), want.size()) != static_cast<ssize_t>(want.size())) {
      if (weak || !now) {
        log.Warn("sysctl {} = {}: {}", path, want, ErrnoName(errno));
        return {};
      }
      return ErrnoError("write {} = {}", path, want);
    }
    return {};
  };
  size_t n = std::min(N, static_cast<size_t>(conf.size()));
  // accept_redirects after forwarding: writing forwarding resets it.
  size_t redirects = N;
  for (size_t i = 0; i < n; i++) {
    if (names[i] == "accept_redirects") {
      redirects = i;
      continue;
    }
    CRYO_TRY(write_one(i));
  }
  if (redirects < n) CRYO_TRY(write_one(redirects));
  return {};
}

std::string ConfDir(int ipv, std::string_view dev) { return fmt::format("/proc/sys/net/ipv{}/conf/{}", ipv, dev); }

}  // namespace

Result<> ReadConf(int ipv, std::string_view dev, Sysctls* out) {
  return ipv == 4 ? ReadList(ConfDir(4, dev), kConf4, out) : ReadList(ConfDir(6, dev), kConf6, out);
}

Result<> WriteConf(int ipv, std::string_view dev, const Sysctls& conf, bool weak, Log& log) {
  return ipv == 4 ? WriteList(ConfDir(4, dev), kConf4, conf, weak, log)
                  : WriteList(ConfDir(6, dev), kConf6, conf, weak, log);
}

Result<> ReadUnixConf(Sysctls* out) { return ReadList("/proc/sys/net/unix", kUnix, out); }

Result<> WriteUnixConf(const Sysctls& conf, bool weak, Log& log) {
  return WriteList("/proc/sys/net/unix", kUnix, conf, weak, log);
}

Result<> ReadIpv4Sysctls(Sysctls* out) { return ReadList("/proc/sys/net/ipv4", kIpv4, out); }

Result<> WriteIpv4Sysctls(const Sysctls& conf, bool weak, Log& log) {
  return WriteList("/proc/sys/net/ipv4", kIpv4, conf, weak, log);
}

}  // namespace cryo::netns
