#include "engine/mem/lazy_daemon.h"

#include <linux/userfaultfd.h>
#include <poll.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <vector>

#include "engine/image/image_dir.h"
#include "engine/mem/lazy_socket.h"
#include "engine/mem/pagemap_flags.h"

namespace cryo {
namespace {

constexpr uint64_t kFaultBytes = 16 * kPageBytes;   // a fault brings its page and the next ones
constexpr uint64_t kChunkBytes = 256 * kPageBytes;  // what one background copy moves

// A range of pages still to copy: where it is now, where it was dumped.
struct Piece {
  uint64_t start, end, orig;
};

// The pages of one process not copied in yet, by their current address.
class Pending {
 public:
  void Add(uint64_t start, uint64_t end, uint64_t orig) {
    if (start < end) ranges_[start] = {end, orig};
  }
  // Takes [start, end) out; what of it was pending.
  std::vector<Piece> Cut(uint64_t start, uint64_t end) {
    std::vector<Piece> out;
    auto it = ranges_.upper_bound(start);
    if (it != ranges_.begin() && std::prev(it)->second.end > start) --it;
    while (it != ranges_.end() && it->first < end) {
      uint64_t rs = it->first;
      Range r = it->second;
      it = ranges_.erase(it);
      uint64_t s = std::max(rs, start), e = std::min(r.end, end);
      if (rs < s) ranges_[rs] = {s, r.orig};
      if (e < r.end) ranges_[e] = {r.end, r.orig + (e - rs)};
      out.push_back({s, e, r.orig + (s - rs)});
    }
    return out;
  }
  // The pending pages from `addr` on, at most `max` bytes; none when the
  // page at addr is not pending.
  std::optional<Piece> TakeAt(uint64_t addr, uint64_t max) {
    auto it = ranges_.upper_bound(addr);
    if (it == ranges_.begin() || std::prev(it)->second.end <= addr) return std::nullopt;
    --it;
    return Cut(addr, std::min(it->second.end, addr + max)).front();
  }
  std::optional<Piece> TakeFirst(uint64_t max) {
    if (ranges_.empty()) return std::nullopt;
    auto it = ranges_.begin();
    return Cut(it->first, std::min(it->second.end, it->first + max)).front();
  }
  bool empty() const { return ranges_.empty(); }
  // What a child inherits: all but the ranges dumped in `no_fork`.
  Pending ForChild(const std::vector<PageRun>& no_fork) const {
    Pending c;
    for (const auto& [start, r] : ranges_) {
      bool skip = false;
      for (const PageRun& n : no_fork) skip = skip || (r.orig >= n.start && r.orig < n.end);
      if (!skip) c.ranges_[start] = r;
    }
    return c;
  }

 private:
  struct Range {
    uint64_t end, orig;
  };
  std::map<uint64_t, Range> ranges_;
};

struct Proc {
  UniqueFd uffd;
  UniqueFd pidfd;    // none for a child born after the restore
  uint32_t pid = 0;  // whose pages (as the images name it); a fork's child has its parent's
  std::shared_ptr<const std::vector<PageRun>> no_fork;  // of pid's mappings
  Pending pending;
  std::deque<uint64_t> faults;
  bool gone = false;  // its memory is gone (it exited)
};

enum class Copied { kDone, kRetry };

class Server {
 public:
  Server(int images, LazySource& source, Log& log) : images_(images), source_(source), log_(log), buf_(kChunkBytes) {}

  Result<> Take(const lazy::Message& m, UniqueFd uffd, UniqueFd pidfd) {
    auto p = std::make_unique<Proc>();
    p->uffd = std::move(uffd);
    p->pidfd = std::move(pidfd);
    p->pid = static_cast<uint32_t>(m.pid);
    LazyTask t = CRYO_TRY_CTX(ReadLazyTask(images_, p->pid), "process {}", m.pid);
    for (const PageRun& r : t.pending) p->pending.Add(r.start, r.end, r.start);  // one per mapping
    p->no_fork = std::make_shared<const std::vector<PageRun>>(std::move(t.no_fork));
    stats_.processes++;
    log_.Info("lazy pages: took process {} (pid {} here)", m.pid, m.host);
    procs_.push_back(std::move(p));
    return {};
  }

  // One round: the events and faults of every process with some, then,
  // when no fault waits, one background copy.
  Result<> Round(const std::vector<pollfd>& polled, size_t first) {
    size_t n = procs_.size();
    for (size_t i = 0; i < n; i++)
      if (polled[first + i].revents) CRYO_TRY(ReadEvents(*procs_[i]));
    for (auto& b : born_) procs_.push_back(std::move(b));
    born_.clear();
    bool faulted = false;
    retry_ = false;
    for (auto& p : procs_) {
      while (!p->gone && !p->faults.empty()) {
        faulted = true;
        if (!CRYO_TRY(ServeFault(*p, p->faults.front()))) {
          retry_ = true;
          break;
        }
        p->faults.pop_front();
      }
    }
    if (!faulted && !retry_) CRYO_TRY(Background());
    // Done with a process: its registrations go with its userfaultfd, and
    // its pages are all in (what is not was never dumped: zeros).
    std::erase_if(procs_, [](const std::unique_ptr<Proc>& p) {
      return p->gone || (p->pending.empty() && p->faults.empty());
    });
    return {};
  }

  bool busy() const {
    if (retry_) return true;
    for (const auto& p : procs_)
      if (!p->pending.empty()) return true;
    return false;
  }
  const std::vector<std::unique_ptr<Proc>>& procs() const { return procs_; }
  const LazyStats& stats() const { return stats_; }

  // By pidfd: a pid may be another process's by now.
  void KillAll() {
    for (const auto& p : procs_)
      if (p->pidfd) ::syscall(SYS_pidfd_send_signal, p->pidfd.get(), SIGKILL, nullptr, 0);
  }

 private:
  Result<> ReadEvents(Proc& p) {
    uffd_msg msgs[64];
    for (;;) {
      ssize_t n = ::read(p.uffd.get(), msgs, sizeof msgs);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0 && errno == EAGAIN) return {};
      if (n < 0) return ErrnoError("read the userfaultfd of {}", p.pid);
      if (n == 0) return {};
      for (size_t i = 0; i < static_cast<size_t>(n) / sizeof(uffd_msg); i++) {
        const uffd_msg& m = msgs[i];
        switch (m.event) {
          case UFFD_EVENT_PAGEFAULT:
            p.faults.push_back(m.arg.pagefault.address);
            break;
          case UFFD_EVENT_FORK: {
            // The child's memory is the parent's: what the parent still
            // lacks, the child lacks too.
            auto c = std::make_unique<Proc>();
            c->uffd = UniqueFd(static_cast<int>(m.arg.fork.ufd));
            c->pid = p.pid;
            c->no_fork = p.no_fork;
            c->pending = p.pending.ForChild(*p.no_fork);
            born_.push_back(std::move(c));
            break;
          }
          case UFFD_EVENT_REMAP: {
            uint64_t from = m.arg.remap.from, to = m.arg.remap.to, len = m.arg.remap.len;
            for (const Piece& pc : p.pending.Cut(from, from + len))
              p.pending.Add(pc.start - from + to, pc.end - from + to, pc.orig);
            break;
          }
          case UFFD_EVENT_REMOVE:
          case UFFD_EVENT_UNMAP:
            // Discarded (MADV_DONTNEED reads as zeros from now on) or gone.
            p.pending.Cut(m.arg.remove.start, m.arg.remove.end);
            break;
          default:
            return MakeError(EPROTO, "userfaultfd of {}: unknown event {}", p.pid, m.event);
        }
      }
    }
  }

  void Wake(Proc& p, uint64_t start, uint64_t len) {
    uffdio_range r{start, len};
    ::ioctl(p.uffd.get(), UFFDIO_WAKE, &r);
  }

  // Copies the piece in from buf_; what cannot go in yet (EAGAIN: an event
  // is pending, or the copy stopped part way) goes back to pending. A piece is within one dumped
  // mapping, but the process may have split that since (mprotect, say),
  // and one copy must stay in one mapping: where a copy finds no mapping
  // for all of it, the rest goes page by page.
  Result<Copied> CopyIn(Proc& p, const Piece& pc) {
    uint64_t at = pc.start;
    bool by_page = false;
    while (at < pc.end) {
      uffdio_copy c{};
      c.dst = at;
      c.src = reinterpret_cast<uint64_t>(buf_.data() + (at - pc.start));
      c.len = by_page ? kPageBytes : pc.end - at;
      if (::ioctl(p.uffd.get(), UFFDIO_COPY, &c) == 0) {
        stats_.pages += c.len / kPageBytes;
        at += c.len;
        continue;
      }
      int err = errno;
      uint64_t done = c.copy > 0 ? static_cast<uint64_t>(c.copy) : 0;
      stats_.pages += done / kPageBytes;
      at += done;
      if (err == EEXIST) {  // that page is in already
        Wake(p, at, kPageBytes);
        at += kPageBytes;
        continue;
      }
      if (err == EAGAIN) {
        p.pending.Add(at, pc.end, pc.orig + (at - pc.start));
        return Copied::kRetry;
      }
      if (err == ESRCH) {
        p.gone = true;
        return Copied::kDone;
      }
      // Anything else (ENOMEM: the cgroup's memory is full) loses the
      // page: the process cannot go on.
      if (err != ENOENT) return MakeError(err, "copy {:#x}-{:#x} into process {}", at, pc.end, p.pid);
      if (!by_page && pc.end - at > kPageBytes) {
        by_page = true;
        continue;
      }
      // Not mapped (or not registered) there any more: an event said so.
      log_.Debug("lazy pages: {:#x} of {}: not mapped", at, p.pid);
      Wake(p, at, kPageBytes);
      at += kPageBytes;
    }
    return Copied::kDone;
  }

  // False: try again after the events.
  Result<bool> ServeFault(Proc& p, uint64_t addr) {
    uint64_t page = addr & ~(kPageBytes - 1);
    std::optional<Piece> pc = p.pending.TakeAt(page, kFaultBytes);
    if (!pc) {
      // Not a dumped page (or in already): zeros.
      uffdio_zeropage z{};
      z.range = {page, kPageBytes};
      if (::ioctl(p.uffd.get(), UFFDIO_ZEROPAGE, &z) == 0) {
        stats_.zero_pages++;
        return true;
      }
      int err = errno;
      if (err == EAGAIN) return false;
      if (err == ESRCH) p.gone = true;
      if (err != ESRCH && err != EEXIST && err != ENOENT)
        return MakeError(err, "zero page at {:#x} of process {}", page, p.pid);
      Wake(p, page, kPageBytes);
      return true;
    }
    stats_.faults++;
    CRYO_TRY(Fill(p, *pc));
    return CRYO_TRY(CopyIn(p, *pc)) == Copied::kDone;
  }

  Result<> Fill(const Proc& p, const Piece& pc) {
    CRYO_TRY_CTX(source_.Get(p.pid, pc.orig, (pc.end - pc.start) / kPageBytes, buf_.data()),
                 "pages {:#x}-{:#x} of process {}", pc.orig, pc.orig + (pc.end - pc.start), p.pid);
    return {};
  }

  Result<> Background() {
    for (size_t k = 0; k < procs_.size(); k++) {
      Proc& p = *procs_[(next_ + k) % procs_.size()];
      if (p.gone || p.pending.empty()) continue;
      next_ = (next_ + k + 1) % procs_.size();
      Piece pc = *p.pending.TakeFirst(kChunkBytes);
      CRYO_TRY(Fill(p, pc));
      if (CRYO_TRY(CopyIn(p, pc)) == Copied::kRetry) retry_ = true;
      return {};
    }
    return {};
  }

  int images_;
  LazySource& source_;
  Log& log_;
  std::vector<char> buf_;
  std::vector<std::unique_ptr<Proc>> procs_, born_;
  size_t next_ = 0;
  bool retry_ = false;
  LazyStats stats_;
};

}  // namespace

Result<LazyStats> ServeLazyPages(int listen_fd, const std::string& images_dir, LazySource& source, Log& log) {
  UniqueFd images = CRYO_TRY(OpenImageDir(images_dir));
  Server server(images.get(), source, log);
  UniqueFd conn;
  do conn = UniqueFd(::accept4(listen_fd, nullptr, nullptr, SOCK_CLOEXEC));
  while (!conn && errno == EINTR);
  if (!conn) return ErrnoError("lazy pages: accept the restore");
  // The restore has handed over every process, then the tree runs;
  // until then it may still fail (and kill the processes).
  bool handed = false, running = false;
  auto run = [&]() -> Result<> {
    for (;;) {
      if (running && server.procs().empty()) return {};
      std::vector<pollfd> pfds;
      pfds.push_back({running ? -1 : conn.get(), POLLIN, 0});
      for (const auto& p : server.procs()) pfds.push_back({p->uffd.get(), POLLIN, 0});
      int n = ::poll(pfds.data(), pfds.size(), server.busy() ? 0 : -1);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) return ErrnoError("lazy pages: poll");
      if (pfds[0].revents) {
        UniqueFd uffd, pidfd;
        lazy::Message m = CRYO_TRY(lazy::Receive(conn.get(), &uffd, &pidfd));
        if (m.kind == 0) return MakeError(EPIPE, "lazy pages: the restore failed (it hung up before the tree ran)");
        if (m.kind == lazy::kProcess) {
          if (handed) return MakeError(EPROTO, "lazy pages: a process after the last");
          CRYO_TRY(server.Take(m, std::move(uffd), std::move(pidfd)));
          continue;  // the new process is polled from the next round
        }
        if (m.kind == lazy::kAllHanded) {
          handed = true;
          char ok = 0;
          if (::send(conn.get(), &ok, 1, MSG_NOSIGNAL) != 1) return ErrnoError("lazy pages: answer the restore");
        } else if (m.kind == lazy::kRunning) {
          if (!handed) return MakeError(EPROTO, "lazy pages: the tree runs before every process was handed over");
          running = true;
        }
      }
      CRYO_TRY(server.Round(pfds, 1));
    }
  };
  if (auto r = run(); !r) {
    server.KillAll();
    return std::unexpected(r.error());
  }
  CRYO_TRY_CTX(source.Close(), "lazy pages");
  const LazyStats& st = server.stats();
  log.Info("lazy pages: {} pages copied into {} processes ({} on faults, {} zero pages)", st.pages, st.processes,
           st.faults, st.zero_pages);
  return st;
}

}  // namespace cryo
