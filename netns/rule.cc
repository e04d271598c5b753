#include "netns/rule.h"

#include <linux/fib_rules.h>

#include <algorithm>

namespace cryo::netns {

Result<std::vector<std::string>> DumpRules(Rtnl& rt) { return CRYO_TRY_CTX(rt.Dump(RTM_GETRULE, AF_UNSPEC), "list rules"); }

namespace {

// A rule as the kernel describes it, framing left out: two dumps of the
// same rule compare equal.
std::string Body(const std::string& m) { return m.substr(sizeof(nlmsghdr)); }

std::string Text(const std::string& m) {
  const auto* f = Payload<fib_rule_hdr>(m);
  Attrs tb = ParseAttrs(Hdr(m), sizeof(fib_rule_hdr), FRA_MAX);
  uint32_t prio = tb[FRA_PRIORITY] ? mnl_attr_get_u32(tb[FRA_PRIORITY]) : 0;
  uint32_t table = tb[FRA_TABLE] ? mnl_attr_get_u32(tb[FRA_TABLE]) : f->table;
  return fmt::format("rule {} (family {}) table {}", prio, f->family, table);
}

}  // namespace

Result<> RestoreRules(Rtnl& rt, const std::vector<std::string>& msgs, bool exact, Log& log) {
  std::vector<std::string> now = CRYO_TRY(DumpRules(rt));
  std::vector<std::string> have, want;
  for (const auto& m : now) have.push_back(Body(m));
  for (const auto& m : msgs) {
    if (m.size() < NLMSG_LENGTH(sizeof(fib_rule_hdr)) || Hdr(m)->nlmsg_type != RTM_NEWRULE) continue;
    want.push_back(Body(m));
    if (std::find(have.begin(), have.end(), want.back()) != have.end()) continue;
    std::string req = m;
    reinterpret_cast<nlmsghdr*>(req.data())->nlmsg_flags = NLM_F_CREATE;
    CRYO_TRY_CTX(rt.Talk(std::move(req)), "add {}", Text(m));
  }
  if (!exact) return {};
  for (const auto& m : now) {
    if (std::find(want.begin(), want.end(), Body(m)) != want.end()) continue;
    std::string req = m;
    auto* h = reinterpret_cast<nlmsghdr*>(req.data());
    h->nlmsg_type = RTM_DELRULE;
    h->nlmsg_flags = 0;
    CRYO_TRY_CTX(rt.Talk(std::move(req)), "delete {} (not in the image)", Text(m));
    log.Info("deleted {}: not in the image", Text(m));
  }
  return {};
}

}  // namespace cryo::netns
