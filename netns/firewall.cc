#include "netns/firewall.h"

#include <set>
#include <vector>

#include "netns/in_netns.h"
#include "netns/lock.h"
#include "netns/nft.h"

namespace cryo::netns {
namespace {

std::vector<std::string_view> Lines(std::string_view s) {
  std::vector<std::string_view> out;
  while (!s.empty()) {
    size_t nl = s.find('\n');
    out.push_back(s.substr(0, nl));
    s = nl == std::string_view::npos ? std::string_view() : s.substr(nl + 1);
  }
  return out;
}

bool Names(std::string_view line, std::string_view chain) {
  size_t pos = 0;
  while ((pos = line.find(chain, pos)) != std::string_view::npos) {
    size_t end = pos + chain.size();
    bool left = pos == 0 || line[pos - 1] == ' ' || line[pos - 1] == ':';
    bool right = end == line.size() || line[end] == ' ';
    if (left && right) return true;
    pos = end;
  }
  return false;
}

// The tables an iptables-save of the nf_tables flavour printed.
std::set<std::string> SavedTables(std::string_view save) {
  std::set<std::string> out;
  if (save.find("(nf_tables)") == std::string_view::npos) return out;
  for (auto l : Lines(save))
    if (l.starts_with("*")) out.emplace(l.substr(1));
  return out;
}

Result<std::string> Save(int netns_fd, int v, std::string_view chain, Log& log) {
  const char* tool = v == 4 ? "iptables-save" : "ip6tables-save";
  if (!HaveProgram(tool)) {
    log.Warn("{} is not installed: the namespace's {} rules are not dumped", tool, v == 4 ? "iptables" : "ip6tables");
    return std::string();
  }
  std::string out = CRYO_TRY(RunIn(netns_fd, {tool}));
  out = WithoutChain(out, chain);
  for (auto l : Lines(out))
    if (l.starts_with("*")) return out;
  return std::string();  // no table at all
}

}  // namespace

std::string WithoutChain(std::string_view save, std::string_view chain) {
  std::string out;
  std::vector<std::string> section;
  bool dirty = false;  // the section lost a line
  auto flush = [&]() {
    // Only what the lock made empty goes: a table the user had stays.
    bool empty = dirty;
    for (const auto& l : section) {
      if (l.starts_with("-A ")) empty = false;
      if (l.starts_with(":") && l.find(" ACCEPT ") == std::string::npos) empty = false;
      if (l.starts_with(":") && !(l.starts_with(":INPUT ") || l.starts_with(":OUTPUT ") || l.starts_with(":FORWARD ")))
        empty = false;
    }
    if (!empty)
      for (const auto& l : section) out += l + "\n";
    section.clear();
    dirty = false;
  };
  bool in = false;
  for (auto l : Lines(save)) {
    if (l.starts_with("*")) in = true;
    if (!in) {
      out += std::string(l) + "\n";
      continue;
    }
    if (!chain.empty() && Names(l, chain)) {
      dirty = true;
      continue;
    }
    section.emplace_back(l);
    if (l == "COMMIT") {
      flush();
      in = false;
    }
  }
  for (const auto& l : section) out += l + "\n";
  return out;
}

Result<Firewall> DumpFirewall(int netns_fd, std::string_view lock_run_id, Log& log) {
  Firewall fw;
  std::string chain = lock_run_id.empty() ? "" : LockChainName(lock_run_id);
  fw.iptables = CRYO_TRY_CTX(Save(netns_fd, 4, chain, log), "iptables");
  fw.ip6tables = CRYO_TRY_CTX(Save(netns_fd, 6, chain, log), "ip6tables");
  std::set<std::string> skip;
  for (const auto& t : SavedTables(fw.iptables)) skip.insert("ip " + t);
  for (const auto& t : SavedTables(fw.ip6tables)) skip.insert("ip6 " + t);
  if (!lock_run_id.empty()) skip.insert("inet " + LockTableName(lock_run_id));
  for (const auto& t : CRYO_TRY_CTX(NftTables(netns_fd), "nftables")) {
    if (skip.count(t)) continue;
    fw.nft += CRYO_TRY_CTX(Nft(netns_fd, "list table " + t), "nftables table {}", t);
  }
  return fw;
}

Result<> RestoreIptables(int netns_fd, const Firewall& fw, Log& log) {
  if (!fw.iptables.empty()) CRYO_TRY(RunIn(netns_fd, {"iptables-restore", "-w"}, fw.iptables));
  if (!fw.ip6tables.empty()) CRYO_TRY(RunIn(netns_fd, {"ip6tables-restore", "-w"}, fw.ip6tables));
  if (!fw.iptables.empty() || !fw.ip6tables.empty()) log.Info("iptables rules restored");
  return {};
}

Result<> RestoreNft(int netns_fd, const Firewall& fw, Log& log) {
  if (fw.nft.empty()) return {};
  CRYO_TRY_CTX(Nft(netns_fd, fw.nft), "restore the nftables ruleset");
  log.Info("nftables ruleset restored");
  return {};
}

}  // namespace cryo::netns
