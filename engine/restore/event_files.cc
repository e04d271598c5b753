#include "engine/restore/event_files.h"

#include <fcntl.h>
#include <sched.h>
#include <sys/eventfd.h>
#include <sys/inotify.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <sys/epoll.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>

// Before <signal.h>: it defines a sigmask() macro that the generated
// signalfd_entry::sigmask() accessor would trip on.
#include "engine/image/proto/event.pb.h"
#include "engine/base/files.h"
#include "engine/base/linux_compat.h"
#include <sys/signalfd.h>
#include <sys/wait.h>


namespace cryo {
namespace {

constexpr uint32_t kStatusFlags = O_NONBLOCK | O_ASYNC;

Result<UniqueFd> Status(UniqueFd fd, uint32_t flags, uint32_t id) {
  if (::fcntl(fd.get(), F_SETFL, flags & kStatusFlags) != 0) return ErrnoError("set flags of file {}", id);
  return fd;
}

Result<UniqueFd> Eventfd(const img::eventfd_file_entry& e) {
  int flags = EFD_CLOEXEC | ((e.flags() & 1) ? EFD_SEMAPHORE : 0);
  if (e.counter() > 0xfffffffffffffffeULL) return MakeError(EINVAL, "eventfd {}: counter {}", e.id(), e.counter());
  UniqueFd fd(::eventfd(0, flags));
  if (fd.get() < 0) return ErrnoError("eventfd {}", e.id());
  // eventfd() takes an int: the full 64-bit count is written after.
  if (uint64_t c = e.counter(); c != 0 && ::write(fd.get(), &c, sizeof c) != sizeof c)
    return ErrnoError("set eventfd {} to {}", e.id(), c);
  return Status(std::move(fd), e.flags(), e.id());
}

Result<UniqueFd> Signalfd(const img::signalfd_entry& e) {
  uint64_t mask = (e.sigmask)();
  UniqueFd fd(static_cast<int>(::syscall(SYS_signalfd4, -1, &mask, sizeof mask, SFD_CLOEXEC)));
  if (fd.get() < 0) return ErrnoError("signalfd {}", e.id());
  return Status(std::move(fd), e.flags(), e.id());
}

// What remained of the timer when dumped is what it gets now; an absolute
// timer keeps its deadline: the time since the dump (`elapsed_ns`, known
// when this is the boot that dumped) is taken off.
Result<UniqueFd> Timerfd(const img::timerfd_entry& e, uint64_t elapsed_ns) {
  auto clock = static_cast<clockid_t>(e.clockid());
  UniqueFd fd(::timerfd_create(clock, TFD_CLOEXEC));
  if (fd.get() < 0) return ErrnoError("timerfd {} on clock {}", e.id(), e.clockid());
  itimerspec its{};
  its.it_value = {static_cast<time_t>(e.vsec()), static_cast<long>(e.vnsec())};
  its.it_interval = {static_cast<time_t>(e.isec()), static_cast<long>(e.insec())};
  int flags = static_cast<int>(e.settime_flags()) & (TFD_TIMER_ABSTIME | TFD_TIMER_CANCEL_ON_SET);
  bool armed = its.it_value.tv_sec || its.it_value.tv_nsec;
  // A periodic timer that expired unread shows nothing remaining (it is
  // moved on only when read): its next expiry is one interval away, its
  // unread ticks are set below.
  if (!armed && (its.it_interval.tv_sec || its.it_interval.tv_nsec)) {
    its.it_value = its.it_interval;
    armed = true;
    flags &= ~TFD_TIMER_ABSTIME;
  }
  if (armed && (flags & TFD_TIMER_ABSTIME)) {
    uint64_t left = uint64_t(its.it_value.tv_sec) * 1000000000ULL + uint64_t(its.it_value.tv_nsec);
    left = left > elapsed_ns ? left - elapsed_ns : 1;
    its.it_value = {static_cast<time_t>(left / 1000000000ULL), static_cast<long>(left % 1000000000ULL)};
    timespec now;
    if (::clock_gettime(clock, &now) != 0) return ErrnoError("clock {}", e.clockid());
    its.it_value.tv_sec += now.tv_sec;
    its.it_value.tv_nsec += now.tv_nsec;
    if (its.it_value.tv_nsec >= 1000000000L) {
      its.it_value.tv_sec++;
      its.it_value.tv_nsec -= 1000000000L;
    }
  }
  if (armed && ::timerfd_settime(fd.get(), flags, &its, nullptr) != 0) return ErrnoError("arm timerfd {}", e.id());
  if (uint64_t t = e.ticks(); t != 0 && ::ioctl(fd.get(), TFD_IOC_SET_TICKS, &t) != 0)
    return ErrnoError("timerfd {}: set {} ticks", e.id(), t);
  return Status(std::move(fd), e.flags(), e.id());
}

Result<UniqueFd> Epoll(const img::eventpoll_file_entry& e) {
  UniqueFd fd(::epoll_create1(EPOLL_CLOEXEC));
  if (fd.get() < 0) return ErrnoError("epoll {}", e.id());
  return Status(std::move(fd), e.flags(), e.id());
}

// Watches with the dumped watch descriptors: inotify hands them out one
// after the other, so numbers below each one are used up by a throwaway
// watch first; the IN_IGNORED events that leaves are read away.
Result<UniqueFd> Inotify(const img::inotify_file_entry& e, const mnt::TreeRoot& root, const GhostOfInode& ghost_of) {
  UniqueFd fd(::inotify_init1(IN_CLOEXEC | IN_NONBLOCK));
  if (fd.get() < 0) return ErrnoError("inotify {}", e.id());
  std::vector<const img::inotify_wd_entry*> wds;
  for (const auto& w : e.wd()) wds.push_back(&w);
  std::sort(wds.begin(), wds.end(), [](auto* a, auto* b) { return a->wd() < b->wd(); });
  constexpr uint32_t kMaxWd = 1 << 16;
  int next = 1;
  for (const auto* w : wds) {
    // No path: the inode was unlinked, and is the ghost of an fd on it.
    const std::string* ghost = w->f_handle().has_path() || !ghost_of ? nullptr : ghost_of(w->s_dev(), w->i_ino());
    if (!w->f_handle().has_path() && !ghost)
      return MakeError(0, "inotify {}: watch {} has no path (and its inode {} no ghost)", e.id(), w->wd(), w->i_ino());
    if (w->wd() > kMaxWd || static_cast<int>(w->wd()) < next)
      return MakeError(EINVAL, "inotify {}: watch descriptor {}", e.id(), w->wd());
    while (next < static_cast<int>(w->wd())) {
      int t = ::inotify_add_watch(fd.get(), "/proc/self/exe", IN_OPEN);
      if (t < 0) return ErrnoError("inotify {}: placeholder watch", e.id());
      ::inotify_rm_watch(fd.get(), t);
      next = t + 1;
    }
    const std::string& path = ghost ? *ghost : w->f_handle().path();
    // A path of the tree's: through its root, then by the fd.
    std::string at = path;
    UniqueFd held;
    if (!root.is_own()) {
      held = CRYO_TRY_CTX(root.Open(path, O_PATH | ((w->mask() & IN_DONT_FOLLOW) ? O_NOFOLLOW : 0)), "inotify {}", e.id());
      at = fmt::format("/proc/self/fd/{}", held.get());
    }
    int got = ::inotify_add_watch(fd.get(), at.c_str(), w->mask());
    if (got < 0) return ErrnoError("inotify {}: watch {}", e.id(), path);
    if (got != static_cast<int>(w->wd()))
      return MakeError(EEXIST, "inotify {}: watch on {} came back as {}, not {}", e.id(), path, got, w->wd());
    next = got + 1;
  }
  char buf[4096];
  while (::read(fd.get(), buf, sizeof buf) > 0) {
  }
  return Status(std::move(fd), e.flags(), e.id());
}

}  // namespace

Result<> CreateEventFiles(const ImageSet& s, std::map<uint32_t, UniqueFd>& out, const mnt::TreeRoot& root,
                          const GhostOfInode& ghost_of) {
  // inventory.dump_uptime: CLOCK_BOOTTIME in microseconds when the tree was
  // frozen; a later reading of the same boot tells how long ago that was.
  uint64_t elapsed_ns = 0;
  timespec boot;
  if (s.inventory.has_dump_uptime() && ::clock_gettime(CLOCK_BOOTTIME, &boot) == 0) {
    uint64_t now_us = uint64_t(boot.tv_sec) * 1000000ULL + uint64_t(boot.tv_nsec) / 1000;
    if (now_us > s.inventory.dump_uptime()) elapsed_ns = (now_us - s.inventory.dump_uptime()) * 1000;
  }
  for (const auto& [id, fe] : s.event_files) {
    switch (fe.type()) {
      case img::EVENTFD: out[id] = CRYO_TRY(Eventfd(fe.efd())); break;
      case img::SIGNALFD: out[id] = CRYO_TRY(Signalfd(fe.sgfd())); break;
      case img::TIMERFD: out[id] = CRYO_TRY(Timerfd(fe.tfd(), elapsed_ns)); break;
      case img::EVENTPOLL: out[id] = CRYO_TRY(Epoll(fe.epfd())); break;
      case img::INOTIFY: out[id] = CRYO_TRY(Inotify(fe.ify(), root, ghost_of)); break;
      default: break;
    }
  }
  return {};
}

namespace {

// Pidfds of processes that had exited at dump time: a child of cryo that
// exits at once stands for each such process, one per inode, so pidfds of
// the same process share an inode again and those of two do not. Each is
// opened while the child is a zombie, then the child is reaped. The child
// is born in the tree's pid namespace (`pidns`, entered by this thread
// for its children only): a pidfd of a process above it would refuse
// signals with EINVAL, not ESRCH.
Result<> DeadPidfds(const std::vector<std::pair<uint32_t, const img::pidfd_entry*>>& same, int pidns,
                    std::map<uint32_t, UniqueFd>& out) {
  UniqueFd mine = CRYO_TRY(Open("/proc/thread-self/ns/pid_for_children", O_RDONLY | O_CLOEXEC));
  if (::setns(pidns, CLONE_NEWPID) != 0) return ErrnoError("enter the tree's pid namespace");
  pid_t child = ::fork();
  int fork_errno = errno;
  if (child == 0) ::_exit(0);
  if (::setns(mine.get(), CLONE_NEWPID) != 0) return ErrnoError("back to cryo's pid namespace");
  if (child < 0) return MakeError(fork_errno, "fork a stand-in for an exited process");
  Result<> r;
  for (const auto& [id, p] : same) {
    UniqueFd fd(static_cast<int>(::syscall(SYS_pidfd_open, child, 0)));
    if (fd.get() < 0) {
      r = ErrnoError("pidfd {} of an exited process", id);
      break;
    }
    auto st = Status(std::move(fd), p->flags(), id);
    if (!st) {
      r = std::unexpected(st.error());
      break;
    }
    out[id] = std::move(*st);
  }
  while (::waitpid(child, nullptr, 0) < 0 && errno == EINTR) {
  }
  return r;
}

}  // namespace

Result<> CreatePidfds(const ImageSet& s, std::map<uint32_t, UniqueFd>& out,
                      const std::function<pid_t(pid_t)>& host_of) {
  std::map<uint64_t, std::vector<std::pair<uint32_t, const img::pidfd_entry*>>> dead;
  for (const auto& [id, fe] : s.event_files) {
    if (fe.type() != img::PIDFD) continue;
    const auto& p = fe.pidfd();
    if (p.nspid() == -1) {
      dead[p.ino()].emplace_back(id, &p);
      continue;
    }
    UniqueFd fd(static_cast<int>(::syscall(SYS_pidfd_open, host_of(p.nspid()), 0)));
    if (fd.get() < 0) return ErrnoError("pidfd {} of pid {}", id, p.nspid());
    auto st = Status(std::move(fd), p.flags(), id);
    out[id] = CRYO_TRY(std::move(st));
  }
  if (dead.empty()) return {};
  pid_t root = s.tasks.empty() ? 0 : host_of(s.tasks[0].pid());
  if (root <= 0) return MakeError(ESRCH, "pidfds of exited processes: the tree's root is not there");
  UniqueFd pidns = CRYO_TRY(Open(fmt::format("/proc/{}/ns/pid", root), O_RDONLY | O_CLOEXEC));
  for (const auto& [ino, same] : dead) CRYO_TRY_CTX(DeadPidfds(same, pidns.get(), out), "pidfd inode {}", ino);
  return {};
}

}  // namespace cryo
