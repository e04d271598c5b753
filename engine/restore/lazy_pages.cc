#include "engine/restore/lazy_pages.h"

#include <fcntl.h>
#include <signal.h>
#include <linux/userfaultfd.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>

#include "engine/mem/lazy_socket.h"
#include "engine/mem/pagemap_flags.h"
#include "engine/proc/proc.h"

namespace cryo {
namespace {

// The daemon follows what the process does to its memory: forks (the
// child's lazy pages), mremap, munmap, and MADV_DONTNEED (after which a
// page reads as zeros, not as dumped).
constexpr uint64_t kFeatures =
    UFFD_FEATURE_EVENT_FORK | UFFD_FEATURE_EVENT_REMAP | UFFD_FEATURE_EVENT_REMOVE | UFFD_FEATURE_EVENT_UNMAP;

}  // namespace

Result<LazyRestore> LazyRestore::Connect(const std::string& work_dir) {
  return LazyRestore(CRYO_TRY(lazy::Connect(work_dir)));
}

Result<> LazyRestore::Prepare(RemoteTask& t, const TaskImages& ti) {
  if (ti.pages.lazy.empty()) return {};
  // Each lazy mapping holding lazy pages, registered whole: its pages the
  // dump did not hold fault in as zeros.
  std::vector<PageRun> ranges;
  for (const PageRun& r : LazyRanges(ti.mm))
    if (!Intersect({r}, ti.pages.lazy).empty()) ranges.push_back(r);
  long fd = CRYO_TRY(t.Check("userfaultfd", SYS_userfaultfd, O_CLOEXEC | O_NONBLOCK));
  auto ours = TakeTaskFd(t.tid(), static_cast<int>(fd));
  CRYO_TRY(t.Check("close the userfaultfd", SYS_close, static_cast<uint64_t>(fd)));
  UniqueFd uffd = CRYO_TRY(std::move(ours));
  uffdio_api api{};
  api.api = UFFD_API;
  api.features = kFeatures;
  if (::ioctl(uffd.get(), UFFDIO_API, &api) != 0) return ErrnoError("UFFDIO_API for task {}", ti.pid());
  for (const PageRun& r : ranges) {
    uffdio_register reg{};
    reg.range = {r.start, r.end - r.start};
    reg.mode = UFFDIO_REGISTER_MODE_MISSING;
    if (::ioctl(uffd.get(), UFFDIO_REGISTER, &reg) != 0)
      return ErrnoError("register {:#x}-{:#x} of {} with its userfaultfd", r.start, r.end, ti.pid());
    if (!(reg.ioctls & (1ULL << _UFFDIO_COPY)))
      return MakeError(ENOTSUP, "{:#x}-{:#x} of {}: the userfaultfd cannot copy pages in", r.start, r.end, ti.pid());
  }
  UniqueFd pidfd(static_cast<int>(::syscall(SYS_pidfd_open, t.tid(), 0)));
  if (!pidfd) return ErrnoError("pidfd_open {}", t.tid());
  CRYO_TRY(lazy::Send(sock_.get(), {lazy::kMagic, lazy::kProcess, static_cast<int32_t>(ti.pid()), t.tid()},
                      uffd.get(), pidfd.get()));
  pidfds_.push_back(std::move(pidfd));
  return {};
}

Result<> LazyRestore::Finish() {
  CRYO_TRY(lazy::Send(sock_.get(), {lazy::kMagic, lazy::kAllHanded, 0, 0}));
  char ok = 1;
  ssize_t n;
  do n = ::recv(sock_.get(), &ok, 1, 0);
  while (n < 0 && errno == EINTR);
  if (n != 1 || ok != 0) return MakeError(EPIPE, "the lazy-pages daemon did not take the processes");
  return {};
}

Result<> LazyRestore::Running() {
  if (auto r = lazy::Send(sock_.get(), {lazy::kMagic, lazy::kRunning, 0, 0}); !r) {
    // The daemon is gone: the memory cannot be completed.
    for (const UniqueFd& p : pidfds_) ::syscall(SYS_pidfd_send_signal, p.get(), SIGKILL, nullptr, 0);
    return std::unexpected(r.error().context("the tree was killed"));
  }
  return {};
}

}  // namespace cryo
