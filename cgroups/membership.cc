#include "cgroups/membership.h"

#include <algorithm>

#include "engine/base/files.h"

namespace cryo::cgroups {

Result<CgSet> ParseCgroupFile(std::string_view text, const std::function<bool(std::string_view)>& keep) {
  CgSet out;
  while (!text.empty()) {
    size_t nl = text.find('\n');
    std::string_view line = text.substr(0, nl);
    text = nl == std::string_view::npos ? std::string_view() : text.substr(nl + 1);
    if (line.empty()) continue;
    size_t a = line.find(':');
    size_t b = a == std::string_view::npos ? a : line.find(':', a + 1);
    if (b == std::string_view::npos) return MakeError(EINVAL, "bad cgroup line '{}'", line);
    std::string_view name = line.substr(a + 1, b - a - 1);
    std::string_view path = line.substr(b + 1);
    if (path.empty() || path[0] != '/') return MakeError(EINVAL, "bad cgroup path in '{}'", line);
    if (keep && !keep(name)) continue;
    out.push_back({std::string(name), std::string(path), 0});
  }
  std::sort(out.begin(), out.end(), [](const CgMember& x, const CgMember& y) { return x.name < y.name; });
  return out;
}

Result<CgSet> ReadTaskCgroups(pid_t pid, pid_t tid, const std::function<bool(std::string_view)>& keep) {
  std::string text = CRYO_TRY(ReadFile(fmt::format("/proc/{}/task/{}/cgroup", pid, tid)));
  return CRYO_TRY_CTX(ParseCgroupFile(text, keep), "cgroups of {}", tid);
}

std::vector<std::string> SplitNames(std::string_view name) {
  std::vector<std::string> out;
  for (;;) {
    size_t c = name.find(',');
    out.emplace_back(name.substr(0, c));
    if (c == std::string_view::npos) break;
    name.remove_prefix(c + 1);
  }
  return out;
}

bool NamesHierarchy(const std::vector<std::string>& cnames, std::string_view name) {
  if (cnames.empty()) return false;
  std::vector<std::string> listed = SplitNames(name);
  for (const auto& c : cnames)
    if (std::find(listed.begin(), listed.end(), c) == listed.end()) return false;
  return true;
}

bool NamesAnyOf(const std::vector<std::string>& cnames, std::string_view name) {
  std::vector<std::string> listed = SplitNames(name);
  for (const auto& c : cnames)
    if (std::find(listed.begin(), listed.end(), c) != listed.end()) return true;
  return false;
}

std::string YardName(const std::vector<std::string>& cnames) {
  std::string out;
  for (const auto& c : cnames) {
    if (!out.empty()) out += ',';
    if (c.empty())
      out += "unified";
    else if (c.starts_with("name="))
      out += c.substr(5);
    else
      out += c;
  }
  return out;
}

bool IsV2(const std::vector<std::string>& cnames) { return cnames.size() == 1 && cnames[0].empty(); }

Result<> SetNamespacePrefixes(CgSet& outside, const CgSet& inside) {
  for (const auto& in : inside) {
    for (auto& out : outside) {
      if (out.name != in.name || out.path == in.path) continue;
      // /a/b seen as /b from a namespace rooted at /a: the prefix is /a.
      std::string_view tail = std::string_view(in.path).substr(1);
      if (out.path.size() < tail.size() || !std::string_view(out.path).ends_with(tail))
        return MakeError(EINVAL, "cgroup {} is not under {} as its namespace says", in.path, out.path);
      size_t pos = out.path.size() - tail.size();
      if (pos > 0 && out.path[pos - 1] == '/') pos--;
      out.cgns_prefix = static_cast<uint32_t>(pos);
    }
  }
  return {};
}

}  // namespace cryo::cgroups
