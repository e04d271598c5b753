#include "engine/dump/mem_track.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/syscall.h>

#include "engine/base/files.h"
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

Result<bool> HoldsUserfaultfd(pid_t pid) {
  std::string dir = fmt::format("/proc/{}/fd", pid);
  UniqueFd d = CRYO_TRY(Open(dir, O_RDONLY | O_DIRECTORY));
  DIR* ds = ::fdopendir(d.release());
  if (!ds) return ErrnoError("opendir {}", dir);
  bool found = false;
  while (dirent* e = ::readdir(ds)) {
    if (e->d_name[0] == '.') continue;
    char link[64];
    ssize_t n = ::readlinkat(::dirfd(ds), e->d_name, link, sizeof link - 1);
    if (n > 0 && std::string_view(link, static_cast<size_t>(n)) == "anon_inode:[userfaultfd]") found = true;
  }
  ::closedir(ds);
  return found;
}

}  // namespace

bool Trackable(const img::vma_entry& v) {
  if (v.status() & (kVdso | kVsyscall | kVvar)) return false;
  if (v.status() & kAnonPrivate) return true;
  return (v.status() & kFilePrivate) && (v.flags() & MAP_PRIVATE) && (v.prot() & PROT_WRITE);
}

Result<MemTracker> MemTracker::Begin(pid_t root, const std::string& parent_run_id, Log& log) {
  MemTracker m(CRYO_TRY(KeeperName(root)), log);
  // A keeper that cannot be asked costs the incremental part only: the
  // dump goes on with every page.
  auto fetched = FetchTracking(m.name_);
  if (!fetched) log.Warn("memory tracking of {}: {}", root, fetched.error().what());
  TrackedTree tree = fetched ? std::move(*fetched) : TrackedTree{};
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
    // The memory the userfaultfd was made for is gone (the task called
    // exec): the kernel says ENOMEM (ESRCH in older kernels).
    if (r.error().err() == ENOMEM || r.error().err() == ESRCH) return false;
    // Not trackable after all (the kernel refuses some kinds): dumped in
    // full every time, which is always right.
    log_->Debug("pid {}: {:#x}-{:#x} not tracked: {}", pid, v.start(), v.end(), r.error().what());
  }
  return true;
}

Result<> MemTracker::Arm(pid_t pid, const img::mm_entry& mm) {
  auto armed = ArmTask(pid, mm);
  // Not tracked: the next dump copies all of the task's pages again.
  if (!armed) log_->Warn("pid {}: memory not tracked: {}", pid, armed.error().what());
  return {};
}

Result<> MemTracker::ArmTask(pid_t pid, const img::mm_entry& mm) {
  // Its own userfaultfd may have registered its memory: whose
  // write-protect bits those are, cryo could not tell.
  if (CRYO_TRY(HoldsUserfaultfd(pid)))
    return MakeError(EBUSY, "it holds a userfaultfd of its own");
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
  CRYO_TRY_CTX(CommitTracking(name_, run_id, std::move(armed_)), "memory tracking");
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
