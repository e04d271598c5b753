#include "engine/mnt/mountinfo.h"

#include <sys/mount.h>

#include <cstdio>
#include <map>
#include <set>
#include <span>

#include "engine/base/files.h"

namespace cryo::mnt {
namespace {

struct Flag {
  std::string_view name;
  uint32_t bit;
};
constexpr Flag kMountFlags[] = {{"ro", MS_RDONLY},           {"nosuid", MS_NOSUID},
                                {"nodev", MS_NODEV},         {"noexec", MS_NOEXEC},
                                {"noatime", MS_NOATIME},     {"nodiratime", MS_NODIRATIME},
                                {"relatime", MS_RELATIME},   {"strictatime", MS_STRICTATIME}};
constexpr Flag kSuperFlags[] = {{"ro", MS_RDONLY},      {"sync", MS_SYNCHRONOUS}, {"dirsync", MS_DIRSYNC},
                                {"mand", MS_MANDLOCK},  {"lazytime", MS_LAZYTIME}};

std::vector<std::string_view> Split(std::string_view s, char sep) {
  std::vector<std::string_view> out;
  size_t at = 0;
  while (at <= s.size()) {
    size_t next = s.find(sep, at);
    if (next == std::string_view::npos) next = s.size();
    out.push_back(s.substr(at, next - at));
    at = next + 1;
  }
  return out;
}

uint32_t Flags(std::string_view opts, std::span<const Flag> known, std::string* rest) {
  uint32_t bits = 0;
  for (std::string_view o : Split(opts, ',')) {
    if (o.empty() || o == "rw") continue;
    bool found = false;
    for (const Flag& f : known)
      if (f.name == o) bits |= f.bit, found = true;
    if (!found && rest) {
      if (!rest->empty()) *rest += ',';
      *rest += o;
    }
  }
  return bits;
}

}  // namespace

std::string Unescape(std::string_view s) {
  std::string out;
  for (size_t i = 0; i < s.size(); i++) {
    if (s[i] == '\\' && i + 3 < s.size() && s[i + 1] >= '0' && s[i + 1] <= '3') {
      out += static_cast<char>(((s[i + 1] - '0') << 6) | ((s[i + 2] - '0') << 3) | (s[i + 3] - '0'));
      i += 3;
    } else {
      out += s[i];
    }
  }
  return out;
}

bool IsBelow(std::string_view path, std::string_view prefix) {
  if (prefix == "/") return !path.empty() && path[0] == '/';
  return path.starts_with(prefix) && (path.size() == prefix.size() || path[prefix.size()] == '/');
}

const MountInfo* MountShowing(const std::vector<MountInfo>& mounts, uint32_t dev, std::string_view root) {
  const MountInfo* best = nullptr;
  for (const auto& m : mounts)
    if (m.dev == dev && IsBelow(root, m.root) && (!best || m.root.size() > best->root.size())) best = &m;
  return best;
}

std::string RelativeTo(std::string_view path, std::string_view prefix) {
  if (prefix == "/") return std::string(path.substr(1));
  if (path.size() == prefix.size()) return "";
  return std::string(path.substr(prefix.size() + 1));
}

Result<std::vector<MountInfo>> ParseMountInfo(std::string_view text) {
  std::vector<MountInfo> out;
  for (std::string_view line : Split(text, '\n')) {
    if (line.empty()) continue;
    std::vector<std::string_view> f = Split(line, ' ');
    size_t dash = 0;
    for (size_t i = 6; i < f.size(); i++)
      if (f[i] == "-") {
        dash = i;
        break;
      }
    if (dash == 0 || dash + 3 >= f.size())
      return MakeError(EINVAL, "mountinfo line '{}': too few fields", line);
    MountInfo m;
    unsigned maj = 0, min = 0;
    std::string devs(f[2]);
    if (std::sscanf(std::string(f[0]).c_str(), "%u", &m.id) != 1 ||
        std::sscanf(std::string(f[1]).c_str(), "%u", &m.parent) != 1 ||
        std::sscanf(devs.c_str(), "%u:%u", &maj, &min) != 2)
      return MakeError(EINVAL, "mountinfo line '{}': bad ids", line);
    m.dev = (maj << 20) | min;
    m.root = Unescape(f[3]);
    if (constexpr std::string_view kDeleted = "//deleted"; m.root.size() > kDeleted.size() && m.root.ends_with(kDeleted)) {
      m.root.resize(m.root.size() - kDeleted.size());
      m.deleted = true;
    }
    m.mountpoint = Unescape(f[4]);
    m.flags = Flags(f[5], kMountFlags, nullptr);
    // strictatime is what mountinfo shows by saying neither of the others.
    if (!(m.flags & (MS_NOATIME | MS_RELATIME))) m.flags |= MS_STRICTATIME;
    for (size_t i = 6; i < dash; i++) {
      if (f[i].starts_with("shared:")) m.shared = static_cast<uint32_t>(std::stoul(std::string(f[i].substr(7))));
      if (f[i].starts_with("master:")) m.master = static_cast<uint32_t>(std::stoul(std::string(f[i].substr(7))));
      if (f[i] == "unbindable") m.flags |= MS_UNBINDABLE;  // as CRIU keeps it: a flag
    }
    m.fstype = Unescape(f[dash + 1]);
    m.source = Unescape(f[dash + 2]);
    std::string_view sb = f[dash + 3];
    m.sb_flags = Flags(sb, kSuperFlags, &m.options);
    m.options = Unescape(m.options);
    out.push_back(std::move(m));
  }
  std::vector<std::pair<uint32_t, uint32_t>> ids;
  for (const auto& m : out) ids.emplace_back(m.id, m.parent);
  std::vector<MountInfo> ordered;
  ordered.reserve(out.size());
  for (size_t i : ParentsFirst(ids)) ordered.push_back(std::move(out[i]));
  return ordered;
}

std::vector<size_t> ParentsFirst(const std::vector<std::pair<uint32_t, uint32_t>>& id_parent) {
  std::set<uint32_t> present;
  for (const auto& [id, parent] : id_parent) present.insert(id);
  std::set<uint32_t> taken;
  std::map<uint32_t, std::vector<size_t>> waiting;  // parent id -> its mounts listed before it
  std::vector<size_t> order;
  std::vector<bool> done(id_parent.size());
  // Takes mount i, then whatever waited for it, depth first.
  auto take = [&](size_t i) {
    std::vector<size_t> stack{i};
    while (!stack.empty()) {
      size_t k = stack.back();
      stack.pop_back();
      order.push_back(k);
      done[k] = true;
      taken.insert(id_parent[k].first);
      auto w = waiting.find(id_parent[k].first);
      if (w == waiting.end()) continue;
      std::vector<size_t> next = std::move(w->second);
      waiting.erase(w);
      stack.insert(stack.end(), next.rbegin(), next.rend());
    }
  };
  for (size_t i = 0; i < id_parent.size(); i++) {
    auto [id, parent] = id_parent[i];
    if (parent == id || !present.count(parent) || taken.count(parent))
      take(i);
    else
      waiting[parent].push_back(i);
  }
  for (size_t i = 0; i < id_parent.size(); i++)
    if (!done[i]) order.push_back(i);
  return order;
}

Result<std::vector<MountInfo>> ReadMountInfo(pid_t pid) {
  std::string path = pid > 0 ? fmt::format("/proc/{}/mountinfo", pid) : "/proc/self/mountinfo";
  std::string text = CRYO_TRY(ReadFile(path));
  return CRYO_TRY_CTX(ParseMountInfo(text), "{}", path);
}

}  // namespace cryo::mnt
