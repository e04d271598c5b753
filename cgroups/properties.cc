#include "cgroups/properties.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <climits>
#include <cstdlib>

#include "engine/base/files.h"

namespace cryo::cgroups {
namespace {

// CRIU's built-in lists (cgroup-props.c), and cryo's for cgroup2's
// controllers (CRIU records none there: limits set on v2 would be lost).
const std::map<std::string, std::vector<std::string>>& Builtins() {
  static const std::map<std::string, std::vector<std::string>> lists = {
      {"cpu", {"cpu.shares", "cpu.cfs_period_us", "cpu.cfs_quota_us", "cpu.rt_period_us", "cpu.rt_runtime_us"}},
      {"memory",
       {"memory.limit_in_bytes", "memory.memsw.limit_in_bytes", "memory.swappiness", "memory.soft_limit_in_bytes",
        "memory.move_charge_at_immigrate", "memory.oom_control", "memory.use_hierarchy",
        "memory.kmem.limit_in_bytes", "memory.kmem.tcp.limit_in_bytes"}},
      {"cpuset",
       {"cpuset.cpus", "cpuset.mems", "cpuset.memory_migrate", "cpuset.cpu_exclusive", "cpuset.mem_exclusive",
        "cpuset.mem_hardwall", "cpuset.memory_spread_page", "cpuset.memory_spread_slab",
        "cpuset.sched_load_balance", "cpuset.sched_relax_domain_level"}},
      {"blkio", {"blkio.weight"}},
      {"freezer", {}},
      {"perf_event", {}},
      {"net_cls", {"net_cls.classid"}},
      {"net_prio", {"net_prio.ifpriomap"}},
      {"pids", {"pids.max"}},
      {"devices", {"devices.list"}},
  };
  return lists;
}
const std::vector<std::string> kGlobalV1 = {"cgroup.clone_children", "notify_on_release", "cgroup.procs", "tasks"};
const std::vector<std::string> kGlobalV2 = {"cgroup.subtree_control", "cgroup.max.descendants", "cgroup.max.depth",
                                            "cgroup.freeze", "cgroup.type"};
const std::vector<std::string> kControllersV2 = {"cpuset.cpus", "cpuset.mems", "cpu.weight", "cpu.max",
                                                 "memory.min", "memory.low", "memory.high", "memory.max",
                                                 "memory.swap.max", "pids.max", "io.weight"};

// The stream's tokens: quoted words and the punctuation : - [ ] ,
struct Lexer {
  std::string_view s;
  Result<std::string> Word() {
    Skip();
    if (s.empty() || s[0] != '"') return MakeError(EINVAL, "cgroup props: expected a quoted word at '{}'", Head());
    size_t end = s.find('"', 1);
    if (end == std::string_view::npos) return MakeError(EINVAL, "cgroup props: unterminated quote");
    std::string w(s.substr(1, end - 1));
    s.remove_prefix(end + 1);
    return w;
  }
  Result<> Expect(char c) {
    Skip();
    if (s.empty() || s[0] != c) return MakeError(EINVAL, "cgroup props: expected '{}' at '{}'", c, Head());
    s.remove_prefix(1);
    return {};
  }
  bool Next(char c) {
    Skip();
    return !s.empty() && s[0] == c;
  }
  bool Done() {
    Skip();
    return s.empty();
  }
  void Skip() {
    while (!s.empty() && (s[0] == ' ' || s[0] == '\n' || s[0] == '\t' || s[0] == '\r')) s.remove_prefix(1);
  }
  std::string Head() const { return std::string(s.substr(0, 20)); }
};

}  // namespace

Result<> PropertyLists::Parse(std::string_view stream) {
  Lexer lx{stream};
  while (!lx.Done()) {
    std::string ctrl = CRYO_TRY(lx.Word());
    CRYO_TRY(lx.Expect(':'));
    CRYO_TRY(lx.Expect('-'));
    std::string key = CRYO_TRY(lx.Word());
    if (key != "strategy") return MakeError(EINVAL, "cgroup props: {}: expected \"strategy\"", ctrl);
    CRYO_TRY(lx.Expect(':'));
    std::string strategy = CRYO_TRY(lx.Word());
    if (strategy != "merge" && strategy != "replace")
      return MakeError(EINVAL, "cgroup props: {}: unknown strategy '{}'", ctrl, strategy);
    CRYO_TRY(lx.Expect('-'));
    key = CRYO_TRY(lx.Word());
    if (key != "properties")
      return MakeError(EINVAL, "cgroup props: {}: expected \"properties\"", ctrl);
    CRYO_TRY(lx.Expect(':'));
    CRYO_TRY(lx.Expect('['));
    std::vector<std::string> props;
    while (!lx.Next(']')) {
      props.push_back(CRYO_TRY(lx.Word()));
      if (!lx.Next(']')) CRYO_TRY(lx.Expect(','));
    }
    CRYO_TRY(lx.Expect(']'));
    auto& list = lists_[ctrl];
    if (strategy == "replace") list.clear();
    for (auto& p : props)
      if (std::find(list.begin(), list.end(), p) == list.end()) list.push_back(std::move(p));
  }
  return {};
}

Result<PropertyLists> PropertyLists::Make(std::string_view stream, const std::string& path) {
  PropertyLists p;
  p.lists_ = Builtins();
  CRYO_TRY_CTX(p.Parse(stream), "--cgroup-props");
  if (!path.empty()) {
    std::string text = CRYO_TRY_CTX(ReadFile(path, 1 << 20), "--cgroup-props-file");
    CRYO_TRY_CTX(p.Parse(text), "--cgroup-props-file {}", path);
  }
  return p;
}

const std::vector<std::string>* PropertyLists::Of(const std::string& controller) const {
  auto it = lists_.find(controller);
  return it == lists_.end() ? nullptr : &it->second;
}

std::vector<std::string> PropertyLists::For(const std::vector<std::string>& cnames) const {
  std::vector<std::string> out;
  bool v2 = cnames.size() == 1 && cnames[0].empty();
  if (v2) {
    out = kControllersV2;
    out.insert(out.end(), kGlobalV2.begin(), kGlobalV2.end());
    return out;
  }
  for (const auto& c : cnames)
    if (const auto* l = Of(c)) out.insert(out.end(), l->begin(), l->end());
  out.insert(out.end(), kGlobalV1.begin(), kGlobalV1.end());
  return out;
}

bool IsSpecialProperty(std::string_view name) {
  static constexpr std::string_view kSpecial[] = {"cpuset.cpus",         "cpuset.mems",
                                                  "devices.list",        "memory.kmem.limit_in_bytes",
                                                  "memory.swappiness",   "memory.oom_control",
                                                  "memory.use_hierarchy", "cgroup.type"};
  return std::find(std::begin(kSpecial), std::end(kSpecial), name) != std::end(kSpecial);
}

bool IsFreezerProperty(std::string_view name) { return name == "freezer.state" || name == "cgroup.freeze"; }

Result<PropertyValue> ReadProperty(int dirfd, const std::string& name) {
  PropertyValue out;
  UniqueFd fd(::openat(dirfd, name.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd) return ErrnoError("open {}", name);
  if (::fstat(fd.get(), &out.st) != 0) return ErrnoError("stat {}", name);
  if (name == "cgroup.procs" || name == "tasks") return out;
  std::string buf(1 << 16, '\0');
  size_t n = CRYO_TRY_CTX(ReadFull(fd.get(), buf.data(), buf.size()), "read {}", name);
  buf.resize(n);
  if (!buf.empty() && buf.back() == '\n') buf.pop_back();
  if (std::strtoll(buf.c_str(), nullptr, 10) == LLONG_MAX) buf = "-1";
  if (name == "memory.oom_control") {
    // "oom_kill_disable 0\nunder_oom 0\n...": only the flag is settable.
    int disable = 0;
    if (std::sscanf(buf.c_str(), "oom_kill_disable %d", &disable) != 1)
      return MakeError(EINVAL, "cannot parse memory.oom_control '{}'", buf);
    buf = std::to_string(disable);
  }
  out.value = std::move(buf);
  return out;
}

namespace {

Result<> WriteOnce(int dirfd, const std::string& name, std::string_view value) {
  UniqueFd fd(::openat(dirfd, name.c_str(), O_WRONLY | O_CLOEXEC));
  if (!fd) return ErrnoError("open {}", name);
  ssize_t n = ::write(fd.get(), value.data(), value.size());
  if (n < 0) return ErrnoError("write '{}' to {}", value.substr(0, 64), name);
  return {};
}

Result<> WriteLines(int dirfd, const std::string& name, std::string_view value) {
  while (!value.empty()) {
    size_t nl = value.find('\n');
    std::string_view line = value.substr(0, nl);
    if (!line.empty()) CRYO_TRY(WriteOnce(dirfd, name, line));
    if (nl == std::string_view::npos) break;
    value.remove_prefix(nl + 1);
  }
  return {};
}

}  // namespace

Result<> WriteProperty(int dirfd, const std::string& name, const std::string& value) {
  if (name == "cgroup.procs" || name == "tasks") return {};
  if (name == "devices.list") {
    // Only a whitelist can be read back: deny all, then allow each line.
    CRYO_TRY(WriteOnce(dirfd, "devices.deny", "a"));
    return WriteLines(dirfd, "devices.allow", value);
  }
  if (name == "net_prio.ifpriomap") {
    // Interfaces at priority 0 are the default; others one per write, and
    // an interface this host lacks is no reason to fail.
    std::string_view v = value;
    while (!v.empty()) {
      size_t nl = v.find('\n');
      std::string_view line = v.substr(0, nl);
      size_t sp = line.find(' ');
      if (sp != std::string_view::npos && std::atoi(std::string(line.substr(sp + 1)).c_str()) != 0)
        (void)WriteOnce(dirfd, name, line);
      if (nl == std::string_view::npos) break;
      v.remove_prefix(nl + 1);
    }
    return {};
  }
  if (name == "cgroup.subtree_control") {
    std::string now = CRYO_TRY(ReadFileAt(dirfd, name, 4096));
    std::string change;
    auto add = [&](std::string_view list, char sign) {
      while (!list.empty()) {
        size_t sp = list.find_first_of(" \n");
        std::string_view w = list.substr(0, sp);
        if (!w.empty()) change += fmt::format("{}{} ", sign, w);
        if (sp == std::string_view::npos) break;
        list.remove_prefix(sp + 1);
      }
    };
    add(now, '-');
    add(value, '+');
    if (change.empty()) return {};
    change.pop_back();
    return WriteOnce(dirfd, name, change);
  }
  if (name == "cgroup.type" && value != "threaded") return {};
  if (name == "memory.kmem.limit_in_bytes") {
    // Deprecated: the kernel refuses writes (EOPNOTSUPP) and so does CRIU's check.
    auto r = WriteOnce(dirfd, name, value);
    if (!r && (r.error().err() == EOPNOTSUPP || r.error().err() == ENOENT)) return {};
    return r;
  }
  return WriteOnce(dirfd, name, value);
}

}  // namespace cryo::cgroups
