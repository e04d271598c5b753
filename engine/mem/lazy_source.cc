#include "engine/mem/lazy_source.h"

#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <map>

#include "engine/base/files.h"
#include "engine/image/image_dir.h"
#include "engine/image/image_reader.h"
#include "engine/image/image_writer.h"
#include "engine/mem/page_chain.h"
#include "engine/mem/page_server.h"
#include "engine/mem/pagemap_flags.h"

namespace cryo {
namespace {

// The pages files of the images (and their parents), read with pread.
class Local : public LazySource {
 public:
  Local(std::string dir, UniqueFd fd) : dir_(std::move(dir)), fd_(std::move(fd)), chain_(dir_) {}

  Result<> Get(uint32_t pid, uint64_t vaddr, uint64_t pages, char* dst) override {
    Task& t = *CRYO_TRY(TaskOf(pid));
    uint64_t end = vaddr + pages * kPageBytes;
    std::memset(dst, 0, pages * kPageBytes);
    const auto& src = t.pages.sources;
    auto it = std::upper_bound(src.begin(), src.end(), vaddr,
                               [](uint64_t a, const PageSource& s) { return a < s.vaddr + s.len; });
    for (; it != src.end() && it->vaddr < end; ++it) {
      uint64_t s = std::max(vaddr, it->vaddr), e = std::min(end, it->vaddr + it->len);
      int fd = t.fds[static_cast<size_t>(it->file)].get();
      uint64_t off = it->offset + (s - it->vaddr);
      for (uint64_t done = 0; done < e - s;) {
        ssize_t n = ::pread(fd, dst + (s - vaddr) + done, e - s - done, static_cast<off_t>(off + done));
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) return ErrnoError("read {}", t.pages.files[static_cast<size_t>(it->file)]);
        if (n == 0)
          return MakeError(EIO, "{}: ends before offset {}", t.pages.files[static_cast<size_t>(it->file)], off + done);
        done += static_cast<uint64_t>(n);
      }
    }
    return {};
  }
  Result<> Close() override { return {}; }

 private:
  struct Task {
    TaskPages pages;
    std::vector<UniqueFd> fds;
  };
  Result<Task*> TaskOf(uint32_t pid) {
    if (auto it = tasks_.find(pid); it != tasks_.end()) return &it->second;
    LazyTask lt = CRYO_TRY(ReadLazyTask(fd_.get(), pid));
    Task t;
    t.pages = CRYO_TRY(chain_.Resolve(pid, lt.pages_id, lt.pagemap, &lt.pending));
    for (const std::string& f : t.pages.files) t.fds.push_back(CRYO_TRY(Open(f, O_RDONLY)));
    return &tasks_.emplace(pid, std::move(t)).first->second;
  }

  std::string dir_;
  UniqueFd fd_;
  PageChain chain_;
  std::map<uint32_t, Task> tasks_;
};

// A lazy dump's page server: each request answered with its pages.
class Remote : public LazySource {
 public:
  explicit Remote(UniqueFd sock) : sock_(std::move(sock)) {}

  // A server may answer with fewer pages than asked (CRIU's stops at the
  // end of one of its buffers): the rest is asked for again.
  Result<> Get(uint32_t pid, uint64_t vaddr, uint64_t pages, char* dst) override {
    while (pages > 0) {
      uint32_t n = static_cast<uint32_t>(std::min<uint64_t>(pages, 1u << 16));
      ps::Iov req{ps::kGet, n, vaddr, ps::DstId(ps::kTypeTask, pid)};
      CRYO_TRY(Send(&req, sizeof req));
      ps::Iov rep{};
      CRYO_TRY(Recv(&rep, sizeof rep));
      if (rep.nr_pages == 0) {  // nothing there: zeros
        std::memset(dst, 0, pages * kPageBytes);
        return {};
      }
      if ((rep.cmd & ((1u << ps::kCmdBits) - 1)) != ps::kGet || rep.nr_pages > n || rep.vaddr != vaddr)
        return MakeError(EPROTO, "page server: asked for {} pages at {:#x}, got {} at {:#x}", n, vaddr, rep.nr_pages,
                         rep.vaddr);
      CRYO_TRY(Recv(dst, uint64_t{rep.nr_pages} * kPageBytes));
      dst += uint64_t{rep.nr_pages} * kPageBytes;
      vaddr += uint64_t{rep.nr_pages} * kPageBytes;
      pages -= rep.nr_pages;
    }
    return {};
  }
  Result<> Close() override {
    ps::Iov req{ps::kClose, 0, 0, 0};
    CRYO_TRY(Send(&req, sizeof req));
    int32_t status = -1;
    CRYO_TRY(Recv(&status, sizeof status));
    if (status != 0) return MakeError(EIO, "page server: closed with status {}", status);
    return {};
  }

 private:
  Result<> Send(const void* p, size_t len) {
    if (::send(sock_.get(), p, len, MSG_NOSIGNAL) != static_cast<ssize_t>(len)) return ErrnoError("page server: send");
    return {};
  }
  Result<> Recv(void* p, size_t len) {
    auto* c = static_cast<char*>(p);
    while (len > 0) {
      ssize_t n = ::recv(sock_.get(), c, len, 0);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) return ErrnoError("page server: receive");
      if (n == 0) return MakeError(EPIPE, "page server: it hung up");
      c += n;
      len -= static_cast<size_t>(n);
    }
    return {};
  }
  UniqueFd sock_;
};

}  // namespace

Result<LazyTask> ReadLazyTask(int images_dir, uint32_t pid) {
  LazyTask t;
  img::mm_entry mm;
  CRYO_TRY(ReadSingleEntryImage(images_dir, ImageKind::kMm, pid, mm));
  ImageReader pm = CRYO_TRY(ImageReader::Open(images_dir, ImageKind::kPagemap, pid));
  img::pagemap_head head;
  if (CRYO_TRY(pm.Next(head))) {
    img::pagemap_entry e;
    while (CRYO_TRY(pm.Next(e))) t.pagemap.push_back(e);
  }
  t.pages_id = head.pages_id();
  // Mapping by mapping: one copy into a process must stay in one mapping.
  std::vector<PageRun> all = EntryRuns(t.pagemap);
  for (const auto& v : mm.vmas()) {
    if (!IsLazyVma(v)) continue;
    for (const PageRun& r : Intersect(all, {PageRun{v.start(), v.end()}})) t.pending.push_back(r);
    if (v.madv() & (1ULL << MADV_DONTFORK | 1ULL << MADV_WIPEONFORK)) t.no_fork.push_back({v.start(), v.end()});
  }
  return t;
}

Result<std::unique_ptr<LazySource>> LocalLazySource(const std::string& images_dir) {
  char real[PATH_MAX];
  if (::realpath(images_dir.c_str(), real) == nullptr) return ErrnoError("images directory {}", images_dir);
  UniqueFd fd = CRYO_TRY(OpenImageDir(real));
  return std::make_unique<Local>(real, std::move(fd));
}

std::unique_ptr<LazySource> RemoteLazySource(UniqueFd page_server) { return std::make_unique<Remote>(std::move(page_server)); }

}  // namespace cryo
