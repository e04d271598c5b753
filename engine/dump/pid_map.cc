#include "engine/dump/pid_map.h"

#include <sys/stat.h>

#include <charconv>
#include <string>

#include "engine/base/files.h"
#include "engine/proc/proc.h"

namespace cryo {
namespace {

// The numbers of a "NSpid:\t42\t1" line, outermost first.
std::vector<pid_t> Levels(std::string_view status, std::string_view key) {
  std::vector<pid_t> out;
  auto v = StatusField(status, key);
  if (!v) return out;
  std::string_view s = *v;
  while (!s.empty()) {
    size_t b = s.find_first_not_of(" \t");
    if (b == std::string_view::npos) break;
    s.remove_prefix(b);
    pid_t p = 0;
    auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), p);
    if (ec != std::errc()) break;
    out.push_back(p);
    s.remove_prefix(static_cast<size_t>(ptr - s.data()));
  }
  return out;
}

uint64_t PidNs(pid_t pid) {
  struct stat st;
  return ::stat(fmt::format("/proc/{}/ns/pid", pid).c_str(), &st) == 0 ? st.st_ino : 0;
}

}  // namespace

Result<PidMap> PidMap::Build(const std::vector<TreeTask>& tasks) {
  PidMap m;
  pid_t root = tasks[0].pid;
  uint64_t root_ns = PidNs(root), ours = PidNs(::getpid());
  m.own_ns_ = root_ns != 0 && root_ns != ours;
  if (!m.own_ns_) return m;
  std::string rs = CRYO_TRY(ReadFile(fmt::format("/proc/{}/status", root)));
  std::vector<pid_t> levels = Levels(rs, "NSpid");
  if (levels.size() < 2 || levels.back() != 1)
    return MakeError(ENOTSUP, "pid {} is in a pid namespace of its own but is not its PID 1 there: not supported",
                     root);
  size_t depth = levels.size();
  for (const auto& t : tasks) {
    std::string st = CRYO_TRY_CTX(ReadFile(fmt::format("/proc/{}/status", t.pid)), "pid {}", t.pid);
    std::vector<pid_t> nspid = Levels(st, "NSpid");
    if (nspid.size() != depth || (!t.zombie() && PidNs(t.pid) != root_ns))
      return MakeError(ENOTSUP, "pid {} is in another pid namespace than the root's: not supported", t.pid);
    m.pids_[t.pid] = nspid.back();
    std::vector<pid_t> pg = Levels(st, "NSpgid"), sid = Levels(st, "NSsid");
    m.ids_[t.pid] = {pg.size() == depth ? pg.back() : 0, sid.size() == depth ? sid.back() : 0};
    if (t.zombie()) continue;
    for (pid_t tid : t.live->threads()) {
      if (tid == t.pid) continue;
      std::string ts = CRYO_TRY_CTX(ReadFile(fmt::format("/proc/{}/task/{}/status", t.pid, tid)), "thread {}", tid);
      std::vector<pid_t> l = Levels(ts, "NSpid");
      if (l.size() != depth) return MakeError(EIO, "thread {}: NSpid has {} levels", tid, l.size());
      m.pids_[tid] = l.back();
    }
  }
  return m;
}

pid_t PidMap::Dumped(pid_t host) const {
  if (!own_ns_) return host;
  auto it = pids_.find(host);
  return it == pids_.end() ? 0 : it->second;
}

pid_t PidMap::Pgid(const TreeTask& t) const {
  if (!own_ns_) return t.pgid;
  auto it = ids_.find(t.pid);
  return it == ids_.end() ? 0 : it->second.first;
}

pid_t PidMap::Sid(const TreeTask& t) const {
  if (!own_ns_) return t.sid;
  auto it = ids_.find(t.pid);
  return it == ids_.end() ? 0 : it->second.second;
}

}  // namespace cryo
