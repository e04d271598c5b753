#include "engine/dump/mem_track.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/syscall.h>

#include "engine/mem/uffd_wp.h"
#include "engine/proc/proc.h"
#include "parasite/remote.h"

namespace cryo {
namespace {

constexpr uint32_t kVdso = 1u << 3, kVsyscall = 1u << 2, kVvar = 1u << 12, kFilePrivate = 1u << 6,
                   kAnonPrivate = 1u << 9;
constexpr uint64_t kUffdUserModeOnly = 1;

// A userfaultfd of the task's memory: only the task can make one.
Result<UniqueFd> MakeUffdIn(pid_t pid) {
  RemoteTask t = CRYO_TRY(RemoteTask::AtCurrentIp(pid));
  long fd = CRYO_TRY(t.Syscall(SYS_userfaultfd, O_CLOEXEC | O_NONBLOCK));
  // Without CAP_SYS_PTRACE (a task in a user namespace) only the
  // user-mode kind may be made; asynchronous write protection never
  // delivers faults, so it tracks kernel writes all the same.
  if (fd == -EPERM) fd = CRYO_TRY(t.Syscall(SYS_userfaultfd, O_CLOEXEC | O_NONBLOCK | kUffdUserModeOnly));
  if (fd < 0) {
    (void)t.Restore();
    return MakeError(static_cast<int>(-fd), "userfaultfd in task {}", pid);
  }
  auto ours = TakeTaskFd(pid, static_cast<int>(fd));
  (void)t.Syscall(SYS_close, static_cast<uint64_t>(fd));
  CRYO_TRY(t.Restore());
  return ours;
}

}  // namespace

bool Trackable(const img::vma_entry& v) {
  if (v.status() & (kVdso | kVsyscall | kVvar)) return false;
  if (v.status() & kAnonPrivate) return true;
  return (v.status() & kFilePrivate) && (v.flags() & MAP_PRIVATE) && (v.prot() & PROT_WRITE);
}

Result<MemTracker> MemTracker::Begin(pid_t root, const std::string& parent_run_id, Log& log) {
  MemTracker m(CRYO_TRY(KeeperName(root)), log);
  TrackedTree tree = CRYO_TRY_CTX(FetchTracking(m.name_), "memory tracking of {}", root);
  m.relative_ = !parent_run_id.empty() && tree.run_id == parent_run_id;
  if (!parent_run_id.empty() && !m.relative_)
    log.Warn("memory tracking of {} is not relative to the parent images ({}): every page is dumped", root,
             !tree.keeper_running ? "no tracking runs"
             : tree.run_id.empty() ? "a later run did not finish"
                                   : "a later dump was tracked from");
  for (auto& t : tree.tasks) m.held_.emplace(t.pid, std::move(t));
  return m;
}

// Registers every trackable mapping; false when the userfaultfd is of a
// memory that is gone (the task called exec since).
Result<bool> MemTracker::RegisterAll(int uffd, pid_t pid, const img::mm_entry& mm) {
  for (const auto& v : mm.vmas()) {
    if (!Trackable(v)) continue;
    auto r = RegisterWp(uffd, v.start(), v.end());
    if (r) continue;
    if (r.error().err() == ESRCH) return false;
    // Not trackable after all (the kernel refuses some kinds): dumped in
    // full every time, which is always right.
    log_->Debug("pid {}: {:#x}-{:#x} not tracked: {}", pid, v.start(), v.end(), r.error().what());
  }
  return true;
}

Result<> MemTracker::Arm(pid_t pid, const img::mm_entry& mm) {
  TrackedTask t;
  if (auto it = held_.find(pid); it != held_.end()) {
    t = std::move(it->second);
    held_.erase(it);
  }
  if (!t.uffd || !CRYO_TRY(RegisterAll(t.uffd.get(), pid, mm))) {
    t.uffd = CRYO_TRY_CTX(MakeUffdIn(pid), "memory tracking");
    CRYO_TRY_CTX(EnableAsyncWp(t.uffd.get()), "memory tracking of {}", pid);
    t.pidfd = UniqueFd(static_cast<int>(::syscall(SYS_pidfd_open, pid, 0)));
    if (!t.pidfd) return ErrnoError("pidfd_open {}", pid);
    t.pid = pid;
    if (!CRYO_TRY(RegisterAll(t.uffd.get(), pid, mm))) return MakeError(ESRCH, "pid {}: its memory is gone", pid);
  }
  UniqueFd pm = CRYO_TRY(OpenPagemap(pid));
  for (const auto& v : mm.vmas())
    if (Trackable(v)) CRYO_TRY_CTX(ProtectPages(pm.get(), v.start(), v.end()), "pid {}", pid);
  armed_.push_back(std::move(t));
  return {};
}

Result<> MemTracker::Commit(const std::string& run_id) {
  std::string exe = CRYO_TRY(ReadLink("/proc/self/exe"));
  CRYO_TRY_CTX(CommitTracking(name_, exe, run_id, std::move(armed_)), "memory tracking");
  armed_.clear();
  held_.clear();
  return {};
}

Result<> MemTracker::End() {
  held_.clear();
  armed_.clear();
  return EndTracking(name_);
}

}  // namespace cryo
