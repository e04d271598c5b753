#include "cgroups/freezer.h"

#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/ptrace.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <charconv>
#include <utility>

#include "cgroups/membership.h"
#include "engine/base/files.h"

namespace cryo::cgroups {
namespace {

void SleepMs(int ms) {
  timespec ts{0, ms * 1000000L};
  ::nanosleep(&ts, nullptr);
}

std::vector<pid_t> ParsePids(std::string_view s) {
  std::vector<pid_t> out;
  while (!s.empty()) {
    size_t nl = s.find('\n');
    std::string_view line = s.substr(0, nl);
    pid_t p = 0;
    auto [ptr, ec] = std::from_chars(line.data(), line.data() + line.size(), p);
    if (ec == std::errc() && p > 0) out.push_back(p);
    if (nl == std::string_view::npos) break;
    s.remove_prefix(nl + 1);
  }
  return out;
}

bool Exists(const std::string& p) {
  struct stat st;
  return ::stat(p.c_str(), &st) == 0;
}

Result<FreezerState> ReadState(int at, const std::string& dir, bool v2) {
  if (!v2) {
    std::string s = CRYO_TRY(ReadFileAt(at, dir + "/freezer.state", 64));
    if (s.starts_with("FROZEN")) return FreezerState::kFrozen;
    if (s.starts_with("FREEZING")) return FreezerState::kFreezing;
    if (s.starts_with("THAWED")) return FreezerState::kThawed;
    return MakeError(EINVAL, "{}/freezer.state: unknown state '{}'", dir, s);
  }
  // cgroup.freeze is what was asked of this cgroup; cgroup.events says
  // whether it is frozen (an ancestor's freeze counts too).
  std::string want = CRYO_TRY(ReadFileAt(at, dir + "/cgroup.freeze", 64));
  std::string events = CRYO_TRY(ReadFileAt(at, dir + "/cgroup.events", 4096));
  if (events.find("frozen 1") != std::string::npos) return FreezerState::kFrozen;
  return want.starts_with("1") ? FreezerState::kFreezing : FreezerState::kThawed;
}

// v1 reports a frozen ancestor in freezer.parent_freezing; v2 freezes a
// cgroup without its own cgroup.freeze saying so.
Result<bool> FrozenByAncestor(const std::string& dir, bool v2) {
  if (!v2) {
    auto p = ReadFile(dir + "/freezer.parent_freezing", 64);
    return p && p->starts_with("1");
  }
  std::string want = CRYO_TRY(ReadFile(dir + "/cgroup.freeze", 64));
  std::string events = CRYO_TRY(ReadFile(dir + "/cgroup.events", 4096));
  return want.starts_with("0") && events.find("frozen 1") != std::string::npos;
}

}  // namespace

Freezer::Freezer(Freezer&& o) noexcept
    : where_(std::move(o.where_)), log_(o.log_), was_frozen_(o.was_frozen_),
      finished_(std::exchange(o.finished_, true)), held_(std::move(o.held_)), others_(std::move(o.others_)) {}

Freezer::~Freezer() {
  if (!finished_) (void)Finish(true);
}

Result<FreezerState> Freezer::State() const { return ReadState(AT_FDCWD, where_.fs_path, where_.v2); }

Result<> Freezer::Set(bool frozen) const {
  std::string file = where_.fs_path + (where_.v2 ? "/cgroup.freeze" : "/freezer.state");
  std::string v = where_.v2 ? (frozen ? "1" : "0") : (frozen ? "FROZEN" : "THAWED");
  UniqueFd fd = CRYO_TRY(Open(file, O_WRONLY | O_CLOEXEC));
  if (::write(fd.get(), v.data(), v.size()) < 0) return ErrnoError("{} {}", frozen ? "freeze" : "thaw", where_.fs_path);
  return {};
}

Result<> Freezer::SeizeAll(const std::string& dir) {
  std::string list = CRYO_TRY(ReadFile(dir + (where_.v2 ? "/cgroup.threads" : "/tasks")));
  for (pid_t tid : ParsePids(list)) {
    if (held_.count(tid)) continue;
    if (::ptrace(PTRACE_SEIZE, tid, nullptr, PTRACE_O_TRACESYSGOOD) != 0) {
      if (errno == ESRCH) continue;  // exited meanwhile
      // A kernel thread (no exe) cannot be traced and has nothing to dump.
      if (!Exists(fmt::format("/proc/{}/exe", tid))) continue;
      return ErrnoError("seize thread {} in {}", tid, dir);
    }
    held_.insert(tid);
    if (::ptrace(PTRACE_INTERRUPT, tid, nullptr, nullptr) != 0 && errno != ESRCH)
      return ErrnoError("interrupt thread {} in {}", tid, dir);
  }
  DIR* d = ::opendir(dir.c_str());
  if (d == nullptr) return ErrnoError("list {}", dir);
  std::vector<std::string> subs;
  while (dirent* de = ::readdir(d)) {
    std::string n = de->d_name;
    if (n != "." && n != ".." && de->d_type == DT_DIR) subs.push_back(dir + "/" + n);
  }
  ::closedir(d);
  for (const auto& s : subs) CRYO_TRY(SeizeAll(s));
  return {};
}

Result<Freezer> Freezer::FreezeAndSeize(const std::string& path, unsigned timeout_s, Log& log) {
  CgroupLocation where = CRYO_TRY_CTX(Locate(path), "--freeze-cgroup");
  bool v1_file = Exists(where.fs_path + "/freezer.state"), v2_file = Exists(where.fs_path + "/cgroup.freeze");
  if (!v1_file && !v2_file)
    return MakeError(ENOENT, "--freeze-cgroup {}: neither freezer.state nor cgroup.freeze there", path);
  where.v2 = !v1_file;
  Freezer f(std::move(where), log);
  f.finished_ = true;  // nothing to undo until it is frozen
  if (CRYO_TRY(FrozenByAncestor(f.where_.fs_path, f.where_.v2)))
    return MakeError(EBUSY, "--freeze-cgroup {}: frozen by a parent cgroup, which cryo would not thaw: name that one",
                     path);
  FreezerState s = CRYO_TRY(f.State());
  f.was_frozen_ = s != FreezerState::kThawed;
  if (s == FreezerState::kThawed) CRYO_TRY(f.Set(true));
  f.finished_ = false;
  // Wait until every task is frozen. The v1 freezer can get stuck in
  // FREEZING; asking again now and then helps it along (CRIU does too).
  unsigned steps = (timeout_s == 0 ? 10 : timeout_s) * 10;
  for (unsigned i = 0;; i++) {
    s = CRYO_TRY(f.State());
    if (s == FreezerState::kFrozen) break;
    if (i >= steps)
      return MakeError(ETIMEDOUT, "--freeze-cgroup {}: not frozen after {} s", path, timeout_s == 0 ? 10 : timeout_s);
    if (!f.where_.v2 && i % 10 == 9) (void)f.Set(true);
    SleepMs(100);
  }
  CRYO_TRY(f.SeizeAll(f.where_.fs_path));
  // Thawed, every held thread enters its stop at once.
  CRYO_TRY(f.Set(false));
  log.Info("froze {} ({}{}): {} thread(s) held", f.where_.fs_path, f.where_.v2 ? "cgroup2" : "v1 freezer",
           f.was_frozen_ ? ", was frozen already" : "", f.held_.size());
  return f;
}

Result<> Freezer::HoldOthers() {
  for (pid_t tid : held_) {
    int status;
    if (::waitpid(tid, &status, __WALL) != tid) continue;
    if (WIFSTOPPED(status)) {
      others_.insert(tid);
      log_->Warn("thread {} is in {} but not in the dumped tree: held until the dump ends", tid, where_.fs_path);
    }
  }
  held_.clear();
  return {};
}

Result<> Freezer::Finish(bool refreeze) {
  finished_ = true;
  Result<> r;
  if (refreeze && was_frozen_) r = Set(true);
  else if (!was_frozen_) r = Set(false);
  // Threads still held: stopped ones can be let go, the rest were never
  // waited for (a failed dump): their stop comes, then the detach.
  for (pid_t tid : held_) {
    int status;
    if (::waitpid(tid, &status, __WALL) == tid && WIFSTOPPED(status)) others_.insert(tid);
  }
  held_.clear();
  for (pid_t tid : others_) ::ptrace(PTRACE_DETACH, tid, nullptr, nullptr);
  others_.clear();
  return r;
}

int FrozenCheck::Hierarchy(bool v2) {
  UniqueFd& fd = v2 ? v2_ : v1_;
  bool& tried = v2 ? tried_v2_ : tried_v1_;
  if (!tried) {
    tried = true;
    auto h = OpenHierarchy(v2 ? std::vector<std::string>{""} : std::vector<std::string>{"freezer"}, "");
    if (h) fd = std::move(*h);
  }
  return fd.get();
}

std::string FrozenCheck::FrozenCgroupOf(pid_t pid) {
  auto text = ReadFile(fmt::format("/proc/{}/cgroup", pid));
  if (!text) return {};
  auto set = ParseCgroupFile(*text);
  if (!set) return {};
  for (const auto& m : *set) {
    if (m.path == "/") continue;
    bool v2 = m.name.empty();
    if (!v2 && !NamesAnyOf({"freezer"}, m.name)) continue;
    std::string key = (v2 ? "cgroup2:" : "freezer:") + m.path;
    auto it = known_.find(key);
    if (it == known_.end()) {
      int h = Hierarchy(v2);
      auto st = h < 0 ? Result<FreezerState>(FreezerState::kThawed) : ReadState(h, Relative(m.path), v2);
      it = known_.emplace(key, st && *st != FreezerState::kThawed).first;
    }
    if (it->second) return key;
  }
  return {};
}

}  // namespace cryo::cgroups
