#include "netns/lock.h"

#include <net/if.h>
#include <sys/ioctl.h>
#include <sys/socket.h>

#include <arpa/inet.h>
#include <fcntl.h>
#include <sys/random.h>

#include <algorithm>
#include <cstring>

#include "netns/in_netns.h"
#include "netns/nft.h"

namespace cryo::netns {
namespace {

// CRIU's SOCCR_MARK: packets a repaired socket must still exchange.
constexpr std::string_view kMark = "0xc114";

// Before conntrack (-200) and raw (-300): a locked packet leaves no state.
constexpr std::string_view kPriority = "-500";

std::string NftNetnsLock(std::string_view table) {
  std::string t = fmt::format("inet {}", table);
  std::string s = fmt::format("create table {}\n", t);
  for (const char* hook : {"input", "output"}) {
    s += fmt::format("add chain {} {} {{ type filter hook {} priority {}; policy drop; }}\n", t, hook, hook, kPriority);
    s += fmt::format("add rule {} {} meta mark {} accept\n", t, hook, kMark);
  }
  return s;
}

Result<bool> NftHas(int netns_fd, std::string_view table) {
  auto tables = CRYO_TRY(NftTables(netns_fd));
  return std::find(tables.begin(), tables.end(), fmt::format("inet {}", table)) != tables.end();
}

Result<> NftDrop(int netns_fd, std::string_view table) {
  if (!CRYO_TRY(NftHas(netns_fd, table))) return {};
  CRYO_TRY(Nft(netns_fd, fmt::format("delete table inet {}\n", table)));
  return {};
}

const char* Restore(int v) { return v == 4 ? "iptables-restore" : "ip6tables-restore"; }
const char* Tables(int v) { return v == 4 ? "iptables" : "ip6tables"; }

Result<bool> ChainHas(int netns_fd, int v, std::string_view chain) {
  auto r = RunIn(netns_fd, {Tables(v), "-w", "-t", "filter", "-S", std::string(chain)});
  return r.has_value();
}

Result<> IptablesNetnsLock(int netns_fd, std::string_view chain) {
  std::string s = fmt::format(
      "*filter\n:{0} - [0:0]\n-I INPUT -j {0}\n-I OUTPUT -j {0}\n-A {0} -m mark --mark {1} -j ACCEPT\n-A {0} -j DROP\n"
      "COMMIT\n",
      chain, kMark);
  for (int v : {4, 6}) CRYO_TRY(RunIn(netns_fd, {Restore(v), "-w", "--noflush"}, s));
  return {};
}

Result<> IptablesDrop(int netns_fd, std::string_view chain) {
  std::string s = fmt::format("*filter\n-D INPUT -j {0}\n-D OUTPUT -j {0}\n-F {0}\n-X {0}\nCOMMIT\n", chain);
  for (int v : {4, 6})
    if (CRYO_TRY(ChainHas(netns_fd, v, chain))) CRYO_TRY(RunIn(netns_fd, {Restore(v), "-w", "--noflush"}, s));
  return {};
}

Result<> Drop(int netns_fd, NetworkLock method, std::string_view run_id) {
  if (method == NetworkLock::kNftables) return NftDrop(netns_fd, LockTableName(run_id));
  if (method == NetworkLock::kIptables) return IptablesDrop(netns_fd, LockChainName(run_id));
  return {};
}

}  // namespace

std::string NewRunId() {
  uint64_t v = 0;
  while (::getrandom(&v, sizeof v, 0) != sizeof v) {
  }
  return fmt::format("{:016x}", v);
}

std::string LockTableName(std::string_view run_id) { return fmt::format("cryo-lock-{}", run_id); }
std::string LockChainName(std::string_view run_id) { return fmt::format("CRYO-{}", run_id); }

Result<NetnsLock> NetnsLock::Lock(int netns_fd, NetworkLock method, std::string_view run_id, Log& log) {
  NetnsLock l;
  if (method == NetworkLock::kSkip) return l;
  if (method == NetworkLock::kNftables) {
    CRYO_TRY_CTX(Nft(netns_fd, NftNetnsLock(LockTableName(run_id))), "network lock (nftables)");
  } else {
    auto r = IptablesNetnsLock(netns_fd, LockChainName(run_id));
    if (!r) {
      (void)IptablesDrop(netns_fd, LockChainName(run_id));
      return std::unexpected(r.error().context("network lock (iptables)"));
    }
  }
  l.netns_.reset(::fcntl(netns_fd, F_DUPFD_CLOEXEC, 3));
  if (!l.netns_) {
    (void)Drop(netns_fd, method, run_id);
    return ErrnoError("dup netns fd");
  }
  l.method_ = method;
  l.run_id_ = std::string(run_id);
  log.Info("network locked ({}: {})", method == NetworkLock::kNftables ? "nftables" : "iptables",
           method == NetworkLock::kNftables ? LockTableName(run_id) : LockChainName(run_id));
  return l;
}

NetnsLock& NetnsLock::operator=(NetnsLock&& o) noexcept {
  if (this != &o) {
    if (active()) (void)Unlock();
    netns_ = std::move(o.netns_);
    method_ = o.method_;
    run_id_ = std::move(o.run_id_);
  }
  return *this;
}

NetnsLock::~NetnsLock() {
  if (active()) (void)Unlock();
}

Result<> NetnsLock::Unlock() {
  if (!active()) return {};
  UniqueFd fd = std::move(netns_);
  CRYO_TRY_CTX(Drop(fd.get(), method_, run_id_), "network unlock");
  return {};
}

Result<> NetnsLock::Silence() {
  if (!active()) return {};
  auto in = CRYO_TRY(NetnsSwitch::Enter(netns_.get()));
  UniqueFd sk(::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
  if (!sk) return ErrnoError("socket");
  struct if_nameindex* names = ::if_nameindex();
  if (names == nullptr) return ErrnoError("list the devices");
  Result<> out;
  for (struct if_nameindex* n = names; n->if_index != 0 && out; n++) {
    ifreq r{};
    std::strncpy(r.ifr_name, n->if_name, IFNAMSIZ - 1);
    if (::ioctl(sk.get(), SIOCGIFFLAGS, &r) != 0 || (r.ifr_flags & IFF_LOOPBACK) || !(r.ifr_flags & IFF_UP)) continue;
    r.ifr_flags = static_cast<short>(r.ifr_flags & ~IFF_UP);
    if (::ioctl(sk.get(), SIOCSIFFLAGS, &r) != 0) out = ErrnoError("set {} down", n->if_name);
  }
  ::if_freenameindex(names);
  return out;
}

Result<> UnlockLeftover(int netns_fd, NetworkLock method, std::string_view run_id, Log& log) {
  if (run_id.empty()) return {};
  CRYO_TRY_CTX(Drop(netns_fd, method, run_id), "lift the dump's network lock");
  log.Info("network lock of run {} lifted (if it was there)", run_id);
  return {};
}

namespace {

bool Mapped(const Connection& c) {
  return c.family == AF_INET6 && c.dst[0] == 0 && c.dst[1] == 0 && c.dst[2] == htonl(0xffff);
}

std::string Addr(int family, const std::array<uint32_t, 4>& a, bool mapped) {
  char buf[INET6_ADDRSTRLEN] = "";
  if (family == AF_INET || mapped)
    ::inet_ntop(AF_INET, mapped ? &a[3] : &a[0], buf, sizeof buf);
  else
    ::inet_ntop(AF_INET6, a.data(), buf, sizeof buf);
  return buf;
}

std::string NftConnTable(std::string_view table) {
  std::string t = fmt::format("inet {}", table);
  std::string s = fmt::format("add table {}\n", t);
  for (const char* hook : {"input", "output"}) {
    s += fmt::format("add chain {} {} {{ type filter hook {} priority {}; policy accept; }}\n", t, hook, hook,
                     kPriority);
    s += fmt::format("add rule {} {} meta mark {} accept\n", t, hook, kMark);
  }
  s += fmt::format("add set {} conns4 {{ type ipv4_addr . inet_service . ipv4_addr . inet_service; }}\n", t);
  s += fmt::format("add set {} conns6 {{ type ipv6_addr . inet_service . ipv6_addr . inet_service; }}\n", t);
  for (const char* hook : {"input", "output"}) {
    s += fmt::format("add rule {} {} ip saddr . tcp sport . ip daddr . tcp dport @conns4 drop\n", t, hook);
    s += fmt::format("add rule {} {} ip6 saddr . tcp sport . ip6 daddr . tcp dport @conns6 drop\n", t, hook);
  }
  return s;
}

}  // namespace

Result<> LockConnections(NetworkLock method, std::string_view run_id, std::span<const Connection> conns, Log& log) {
  if (method == NetworkLock::kSkip || conns.empty()) return {};
  UniqueFd self = CRYO_TRY(OpenNetns(0));
  if (method == NetworkLock::kNftables) {
    std::string table = LockTableName(run_id);
    bool fresh = !CRYO_TRY(NftHas(self.get(), table));
    std::string s = fresh ? NftConnTable(table) : "";
    for (const auto& c : conns) {
      bool mapped = Mapped(c);
      char v = c.family == AF_INET || mapped ? '4' : '6';
      std::string a = Addr(c.family, c.src, mapped), b = Addr(c.family, c.dst, mapped);
      s += fmt::format("add element inet {} conns{} {{ {} . {} . {} . {}, {} . {} . {} . {} }}\n", table, v, a, c.sport, b,
                       c.dport, b, c.dport, a, c.sport);
    }
    auto r = Nft(self.get(), s);
    if (!r) {
      if (fresh) (void)NftDrop(self.get(), table);
      return std::unexpected(r.error().context("lock connections (nftables)"));
    }
  } else {
    std::string chain = LockChainName(run_id);
    std::string s[2];  // IPv4, IPv6
    for (const auto& c : conns) {
      bool mapped = Mapped(c);
      int v = c.family == AF_INET || mapped ? 0 : 1;
      std::string a = Addr(c.family, c.src, mapped), b = Addr(c.family, c.dst, mapped);
      for (int dir = 0; dir < 2; dir++)
        s[v] += fmt::format("-A {} -p tcp -s {} --sport {} -d {} --dport {} -m mark ! --mark {} -j DROP\n", chain,
                            dir ? b : a, dir ? c.dport : c.sport, dir ? a : b, dir ? c.sport : c.dport, kMark);
    }
    for (int v : {4, 6}) {
      std::string& rules = s[v == 4 ? 0 : 1];
      if (rules.empty()) continue;
      std::string head = "*filter\n";
      if (!CRYO_TRY(ChainHas(self.get(), v, chain)))
        head += fmt::format(":{0} - [0:0]\n-I INPUT -j {0}\n-I OUTPUT -j {0}\n", chain);
      CRYO_TRY_CTX(RunIn(self.get(), {Restore(v), "-w", "--noflush"}, head + rules + "COMMIT\n"),
                   "lock connections (iptables)");
    }
  }
  log.Info("locked {} connection(s)", conns.size());
  return {};
}

Result<> UnlockConnections(NetworkLock method, std::string_view run_id, Log& log) {
  if (method == NetworkLock::kSkip) return {};
  UniqueFd self = CRYO_TRY(OpenNetns(0));
  CRYO_TRY_CTX(Drop(self.get(), method, run_id), "unlock connections");
  log.Info("connections of run {} unlocked", run_id);
  return {};
}

}  // namespace cryo::netns
