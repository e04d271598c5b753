#include "engine/mem/page_sink.h"

#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include <optional>

#include "engine/base/files.h"
#include "engine/mem/page_server.h"
#include "engine/mem/pagemap_flags.h"

namespace cryo {
namespace {

constexpr uint64_t kPage = kPageBytes;

class Local : public PageSink {
 public:
  Local(int dir, uint32_t* next) : dir_(dir), next_(next) {}

  Result<> Open(ImageKind kind, uint64_t id) override {
    CRYO_TRY(Close());
    uint32_t pages_id = (*next_)++;
    pm_.emplace(dir_, kind, id);
    pages_.emplace(dir_, ImageKind::kPages, pages_id);
    img::pagemap_head head;
    head.set_pages_id(pages_id);
    return pm_->Write(head);
  }
  Result<> Entry(const img::pagemap_entry& e) override { return pm_->Write(e); }
  Result<> Pages(std::string_view bytes) override {
    CRYO_TRY(pages_->WriteRaw(bytes));
    // Writeback starts as pages arrive, so the final sync of the images
    // has little left to wait for.
    unsynced_ += bytes.size();
    if (unsynced_ >= (16u << 20)) {
      int fd = CRYO_TRY(pages_->RawFd());
      ::sync_file_range(fd, 0, 0, SYNC_FILE_RANGE_WRITE);
      unsynced_ = 0;
    }
    return {};
  }
  Result<> Close() override {
    if (!pm_) return {};
    CRYO_TRY(pm_->Close());
    CRYO_TRY(pages_->Close());
    pm_.reset();
    pages_.reset();
    return {};
  }
  Result<> Finish(bool) override { return Close(); }

 private:
  int dir_;
  uint32_t* next_;
  std::optional<ImageWriter> pm_, pages_;
  uint64_t unsynced_ = 0;
};

Result<> SendAll(int sk, const void* data, size_t len) {
  auto* p = static_cast<const char*>(data);
  while (len > 0) {
    ssize_t n = ::send(sk, p, len, MSG_NOSIGNAL);
    if (n < 0) {
      if (errno == EINTR) continue;
      return ErrnoError("send to the page server");
    }
    p += n;
    len -= static_cast<size_t>(n);
  }
  return {};
}

Result<> RecvAll(int sk, void* data, size_t len) {
  auto* p = static_cast<char*>(data);
  while (len > 0) {
    ssize_t n = ::recv(sk, p, len, 0);
    if (n < 0) {
      if (errno == EINTR) continue;
      return ErrnoError("receive from the page server");
    }
    if (n == 0) return MakeError(EPIPE, "the page server hung up");
    p += n;
    len -= static_cast<size_t>(n);
  }
  return {};
}

// A header for each entry goes out only once the bytes of the entry
// before it are all sent: the protocol has an entry's pages right after it.
class Remote : public PageSink {
 public:
  explicit Remote(UniqueFd sk) : sk_(std::move(sk)) {}

  Result<> Open(ImageKind kind, uint64_t id) override {
    CRYO_TRY(Close());
    dst_ = ps::DstId(kind == ImageKind::kShmemPagemap ? ps::kTypeShmem : ps::kTypeTask, id);
    ps::Iov pi{ps::kOpen2, 0, 0, dst_};
    CRYO_TRY(SendAll(sk_.get(), &pi, sizeof pi));
    char has_parent = 0;
    return RecvAll(sk_.get(), &has_parent, 1);
  }
  Result<> Entry(const img::pagemap_entry& e) override {
    queued_.push_back(e);
    return Drain();
  }
  Result<> Pages(std::string_view bytes) override {
    while (!bytes.empty()) {
      if (owed_ == 0) return MakeError(EINVAL, "page server: pages with no pagemap entry for them");
      size_t n = static_cast<size_t>(std::min<uint64_t>(owed_, bytes.size()));
      CRYO_TRY(SendAll(sk_.get(), bytes.data(), n));
      owed_ -= n;
      bytes.remove_prefix(n);
      CRYO_TRY(Drain());
    }
    return {};
  }
  Result<> Close() override {
    CRYO_TRY(Drain());
    if (owed_ || !queued_.empty()) return MakeError(EINVAL, "page server: a pagemap closed before its pages were sent");
    return {};
  }
  Result<> Finish(bool failed) override {
    if (finished_) return {};
    finished_ = true;
    if (!failed) CRYO_TRY(Close());
    ps::Iov pi{failed ? ps::kForceClose : ps::kClose, 0, 0, 0};
    CRYO_TRY(SendAll(sk_.get(), &pi, sizeof pi));
    int32_t status = -1;
    CRYO_TRY(RecvAll(sk_.get(), &status, sizeof status));
    if (!failed && status != 0) return MakeError(EIO, "the page server failed (status {})", status);
    return {};
  }

 private:
  Result<> Drain() {
    while (owed_ == 0 && !queued_.empty()) {
      const img::pagemap_entry& e = queued_.front();
      uint64_t n = e.has_nr_pages_64() ? e.nr_pages_64() : e.nr_pages();
      if (n > UINT32_MAX) return MakeError(E2BIG, "page server: an entry of {} pages", n);
      uint32_t flags = e.has_flags() ? e.flags() : kPePresent;
      ps::Iov pi{flags << ps::kCmdBits | ps::kAddF, static_cast<uint32_t>(n), e.vaddr(), dst_};
      CRYO_TRY(SendAll(sk_.get(), &pi, sizeof pi));
      if (flags & kPePresent) owed_ = n * kPage;
      queued_.pop_front();
    }
    return {};
  }

  UniqueFd sk_;
  uint64_t dst_ = 0;
  std::deque<img::pagemap_entry> queued_;
  uint64_t owed_ = 0;  // bytes of the entry last sent still to come
  bool finished_ = false;
};

}  // namespace

std::unique_ptr<PageSink> LocalPageSink(int dir, uint32_t* next_pages_id) {
  return std::make_unique<Local>(dir, next_pages_id);
}

std::unique_ptr<PageSink> PageServerSink(UniqueFd sock) { return std::make_unique<Remote>(std::move(sock)); }

Result<UniqueFd> ConnectPageServer(const std::string& address, int port) {
  if (port <= 0 || port > 65535) return MakeError(EINVAL, "page server: port {} (give --port)", port);
  addrinfo hints{};
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* res = nullptr;
  std::string where = address.empty() ? "127.0.0.1" : address;
  int rc = ::getaddrinfo(where.c_str(), std::to_string(port).c_str(), &hints, &res);
  if (rc != 0) return MakeError(EINVAL, "page server {}: {}", where, ::gai_strerror(rc));
  int err = ECONNREFUSED;
  for (addrinfo* a = res; a; a = a->ai_next) {
    UniqueFd s(::socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC, a->ai_protocol));
    if (!s) continue;
    if (::connect(s.get(), a->ai_addr, a->ai_addrlen) == 0) {
      ::freeaddrinfo(res);
      int one = 1;
      ::setsockopt(s.get(), IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
      return s;
    }
    err = errno;
  }
  ::freeaddrinfo(res);
  return MakeError(err, "connect to the page server at {}:{}", where, port);
}

}  // namespace cryo
