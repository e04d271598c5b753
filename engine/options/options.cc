#include "engine/options/options.h"

#include <sched.h>

#include <algorithm>
#include <charconv>

namespace cryo {
namespace {

Result<int> ParseInt(std::string_view s, std::string_view what) {
  int v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || p != s.data() + s.size() || s.empty())
    return MakeError(EINVAL, "{}: '{}' is not a number", what, s);
  return v;
}

}  // namespace

Result<InheritFd> ParseInheritFd(std::string_view s) {
  // fd[N]:KEY
  if (!s.starts_with("fd[")) return MakeError(EINVAL, "--inherit-fd '{}': want fd[N]:KEY", s);
  size_t close = s.find("]:");
  if (close == std::string_view::npos || close + 2 >= s.size())
    return MakeError(EINVAL, "--inherit-fd '{}': want fd[N]:KEY", s);
  InheritFd out;
  out.fd = CRYO_TRY(ParseInt(s.substr(3, close - 3), "--inherit-fd"));
  if (out.fd < 0) return MakeError(EINVAL, "--inherit-fd '{}': negative fd", s);
  out.key = std::string(s.substr(close + 2));
  return out;
}

Result<ExtMountMap> ParseExtMountMap(std::string_view s) {
  if (s == "auto") return ExtMountMap{"auto", ""};
  // An empty VALUE is taken, as CRIU takes it: LXC passes `console:` for
  // a container with no console. It names no mount on dump, and a mount
  // whose key maps to nothing is refused on restore.
  size_t colon = s.find(':');
  if (colon == std::string_view::npos || colon == 0)
    return MakeError(EINVAL, "--ext-mount-map '{}': want KEY:VALUE or auto", s);
  return ExtMountMap{std::string(s.substr(0, colon)), std::string(s.substr(colon + 1))};
}

Result<CgroupRoot> ParseCgroupRoot(std::string_view s) {
  if (s.empty()) return MakeError(EINVAL, "--cgroup-root: empty");
  size_t colon = s.find(':');
  if (colon == std::string_view::npos) return CgroupRoot{std::nullopt, std::string(s)};
  if (colon + 1 == s.size()) return MakeError(EINVAL, "--cgroup-root '{}': empty path", s);
  return CgroupRoot{std::string(s.substr(0, colon)), std::string(s.substr(colon + 1))};
}

Result<JoinNs> ParseJoinNs(std::string_view s) {
  // NS:PID or NS:FILE, then ,EXTRA (only for user: uid,gid)
  size_t colon = s.find(':');
  if (colon == std::string_view::npos || colon == 0 || colon + 1 == s.size())
    return MakeError(EINVAL, "--join-ns '{}': want NS:PID|FILE[,OPTS]", s);
  JoinNs out;
  out.ns = std::string(s.substr(0, colon));
  static constexpr std::string_view kKnown[] = {"net", "uts", "ipc", "pid", "mnt",
                                                "user", "cgroup", "time"};
  if (std::find(std::begin(kKnown), std::end(kKnown), out.ns) == std::end(kKnown))
    return MakeError(EINVAL, "--join-ns '{}': unknown namespace '{}'", s, out.ns);
  std::string_view rest = s.substr(colon + 1);
  size_t comma = rest.find(',');
  out.file = std::string(rest.substr(0, comma));
  if (comma != std::string_view::npos) out.extra = std::string(rest.substr(comma + 1));
  return out;
}

Result<VethPair> ParseVethPair(std::string_view s) {
  size_t eq = s.find('=');
  if (eq == std::string_view::npos || eq == 0 || eq + 1 == s.size())
    return MakeError(EINVAL, "--veth-pair '{}': want IN=OUT[@BRIDGE]", s);
  VethPair v;
  v.in = std::string(s.substr(0, eq));
  std::string_view out = s.substr(eq + 1);
  size_t at = out.find('@');
  v.out = std::string(out.substr(0, at));
  if (at != std::string_view::npos) v.bridge = std::string(out.substr(at + 1));
  return v;
}

Result<CgroupMode> ParseCgroupMode(std::string_view s) {
  if (s == "none") return CgroupMode::kNone;
  if (s == "props") return CgroupMode::kProps;
  if (s == "soft") return CgroupMode::kSoft;
  if (s == "full") return CgroupMode::kFull;
  if (s == "strict") return CgroupMode::kStrict;
  if (s == "ignore") return CgroupMode::kIgnore;
  return MakeError(EINVAL, "--manage-cgroups '{}': want none, props, soft, full, strict or ignore",
                   s);
}

Result<NetworkLock> ParseNetworkLock(std::string_view s) {
  if (s == "iptables") return NetworkLock::kIptables;
  if (s == "nftables") return NetworkLock::kNftables;
  if (s == "skip") return NetworkLock::kSkip;
  return MakeError(EINVAL, "--network-lock '{}': want iptables, nftables or skip", s);
}

Result<uint32_t> ParseEmptyNs(std::string_view s) {
  if (s == "net" || s == "network") return static_cast<uint32_t>(CLONE_NEWNET);
  return MakeError(EINVAL, "--empty-ns '{}': only net is supported", s);
}

}  // namespace cryo
