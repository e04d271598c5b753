#include "engine/mem/page_server.h"

#include <dirent.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <optional>
#include <vector>

#include "engine/image/image_dir.h"
#include "engine/image/image_writer.h"
#include "engine/image/proto/mm.pb.h"
#include "engine/mem/pagemap_flags.h"

namespace cryo::ps {
namespace {

constexpr uint64_t kPage = kPageBytes;
// The most one PS_IOV_GET may ask for.
constexpr uint32_t kMaxGetPages = 1 << 16;

Result<> RecvAll(int sk, void* data, size_t len, bool eof_ok = false, bool* eof = nullptr) {
  auto* p = static_cast<char*>(data);
  size_t got = 0;
  while (got < len) {
    ssize_t n = ::recv(sk, p + got, len - got, 0);
    if (n < 0) {
      if (errno == EINTR) continue;
      return ErrnoError("page server: receive");
    }
    if (n == 0) {
      if (eof_ok && got == 0) {
        *eof = true;
        return {};
      }
      return MakeError(EPIPE, "page server: the dumper hung up in the middle of a message");
    }
    got += static_cast<size_t>(n);
  }
  return {};
}

Result<> SendAll(int sk, const void* data, size_t len) {
  if (::send(sk, data, len, MSG_NOSIGNAL) != static_cast<ssize_t>(len)) return ErrnoError("page server: send");
  return {};
}

// The pagemap being received and its pages file.
struct Current {
  uint64_t dst = 0;
  std::optional<ImageWriter> pm, pages;
};

}  // namespace

Result<> Serve(int sock, int dir, Log& log) {
  Current cur;
  uint32_t next_pages_id = 1;
  bool has_parent = ::faccessat(dir, "parent", F_OK, 0) == 0;
  std::vector<char> buf(1 << 20);
  uint64_t pages_in = 0;
  auto close_current = [&]() -> Result<> {
    if (cur.pm) {
      CRYO_TRY(cur.pm->Close());
      CRYO_TRY(cur.pages->Close());
    }
    cur = Current{};
    return {};
  };
  auto open = [&](uint64_t dst) -> Result<> {
    CRYO_TRY(close_current());
    uint32_t type = static_cast<uint32_t>(dst & 0xff);
    uint64_t id = dst >> 8;
    if (type != kTypeTask && type != kTypeShmem) return MakeError(EINVAL, "page server: pagemap type {}", type);
    cur.dst = dst;
    cur.pm.emplace(dir, type == kTypeTask ? ImageKind::kPagemap : ImageKind::kShmemPagemap, id);
    uint32_t pages_id = next_pages_id++;
    cur.pages.emplace(dir, ImageKind::kPages, pages_id);
    img::pagemap_head head;
    head.set_pages_id(pages_id);
    return cur.pm->Write(head);
  };
  for (;;) {
    Iov pi{};
    bool eof = false;
    CRYO_TRY(RecvAll(sock, &pi, sizeof pi, true, &eof));
    if (eof) return MakeError(EPIPE, "page server: the dumper hung up before it was done");
    uint32_t cmd = pi.cmd & ((1u << kCmdBits) - 1), flags = pi.cmd >> kCmdBits;
    switch (cmd) {
      case kOpen:
      case kOpen2: {
        CRYO_TRY(open(pi.dst_id));
        if (cmd == kOpen2) {
          char p = has_parent ? 1 : 0;
          CRYO_TRY(SendAll(sock, &p, 1));
        }
        continue;
      }
      case kParent: {
        int32_t p = has_parent ? 1 : 0;
        CRYO_TRY(SendAll(sock, &p, sizeof p));
        continue;
      }
      case kAdd:
      case kHole:
      case kAddF: {
        if (cmd == kAdd) flags = kPePresent;
        if (cmd == kHole) flags = kPeParent;
        if (!cur.pm || pi.dst_id != cur.dst)
          return MakeError(EPROTO, "page server: pages for pagemap {:#x}, which is not open", pi.dst_id);
        if (flags & ~(kPeParent | kPeLazy | kPePresent) || pi.nr_pages == 0 || pi.vaddr % kPage)
          return MakeError(EPROTO, "page server: an entry of {} pages at {:#x} with flags {:#x}", pi.nr_pages,
                           pi.vaddr, flags);
        img::pagemap_entry e;
        e.set_vaddr(pi.vaddr);
        e.set_nr_pages(pi.nr_pages);
        e.set_nr_pages_64(pi.nr_pages);
        e.set_flags(flags);
        CRYO_TRY(cur.pm->Write(e));
        if (!(flags & kPePresent)) continue;
        uint64_t left = uint64_t{pi.nr_pages} * kPage;
        pages_in += pi.nr_pages;
        while (left > 0) {
          size_t n = static_cast<size_t>(std::min<uint64_t>(left, buf.size()));
          CRYO_TRY(RecvAll(sock, buf.data(), n));
          CRYO_TRY(cur.pages->WriteRaw(std::string_view(buf.data(), n)));
          left -= n;
        }
        continue;
      }
      case kClose:
      case kForceClose: {
        auto closed = close_current();
        if (closed) closed = SyncImageDir(dir);
        int32_t status = closed ? 0 : -1;
        if (closed)
          log.Info("page server: {} pages received{}", pages_in, cmd == kForceClose ? " (the dump failed)" : "");
        CRYO_TRY(SendAll(sock, &status, sizeof status));
        if (!closed) return std::unexpected(closed.error());
        if (cmd == kForceClose) return MakeError(ECANCELED, "page server: the dump failed");
        return {};
      }
      case kGet:
        return MakeError(ENOTSUP, "page server: PS_IOV_GET (lazy pages) is not supported");
      default:
        return MakeError(EPROTO, "page server: unknown command {:#x}", cmd);
    }
  }
}

Result<uint64_t> ServeLazy(int listen_fd, const ReadTaskPages& read, Log& log) {
  UniqueFd c;
  do c = UniqueFd(::accept4(listen_fd, nullptr, nullptr, SOCK_CLOEXEC));
  while (!c && errno == EINTR);
  if (!c) return ErrnoError("lazy pages: accept the lazy-pages daemon");
  int one = 1;
  ::setsockopt(c.get(), IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  std::vector<char> buf;
  uint64_t served = 0;
  for (;;) {
    Iov pi{};
    bool eof = false;
    CRYO_TRY(RecvAll(c.get(), &pi, sizeof pi, true, &eof));
    if (eof) return MakeError(EPIPE, "lazy pages: the lazy-pages daemon hung up before it had every page");
    uint32_t cmd = pi.cmd & ((1u << kCmdBits) - 1);
    if (cmd == kClose || cmd == kForceClose) {
      int32_t status = 0;
      CRYO_TRY(SendAll(c.get(), &status, sizeof status));
      if (cmd == kForceClose) return MakeError(ECANCELED, "lazy pages: the lazy-pages daemon gave up");
      log.Info("lazy pages: {} pages served", served);
      return served;
    }
    if (cmd != kGet) return MakeError(EPROTO, "lazy pages: unexpected command {:#x}", cmd);
    if ((pi.dst_id & 0xff) != kTypeTask || pi.nr_pages == 0 || pi.nr_pages > kMaxGetPages || pi.vaddr % kPage)
      return MakeError(EPROTO, "lazy pages: a request for {} pages at {:#x} of {:#x}", pi.nr_pages, pi.vaddr,
                       pi.dst_id);
    buf.resize(uint64_t{pi.nr_pages} * kPage);
    uint32_t pid = static_cast<uint32_t>(pi.dst_id >> 8);
    CRYO_TRY_CTX(read(pid, pi.vaddr, pi.nr_pages, buf.data()), "lazy pages: {} pages at {:#x} of {}", pi.nr_pages,
                 pi.vaddr, pid);
    CRYO_TRY(SendAll(c.get(), &pi, sizeof pi));
    CRYO_TRY(SendAll(c.get(), buf.data(), buf.size()));
    served += pi.nr_pages;
  }
}

Result<Listener> Listen(const std::string& address, int port) {
  if (port < 0 || port > 65535) return MakeError(EINVAL, "page server: port {}", port);
  addrinfo hints{};
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_PASSIVE;
  hints.ai_family = address.empty() ? AF_INET : AF_UNSPEC;
  addrinfo* res = nullptr;
  int rc = ::getaddrinfo(address.empty() ? nullptr : address.c_str(), std::to_string(port).c_str(), &hints, &res);
  if (rc != 0) return MakeError(EINVAL, "page server: address {}: {}", address, ::gai_strerror(rc));
  Listener l;
  int err = EADDRNOTAVAIL;
  for (addrinfo* a = res; a && !l.fd; a = a->ai_next) {
    UniqueFd s(::socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC, a->ai_protocol));
    if (!s) continue;
    int one = 1;
    ::setsockopt(s.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (::bind(s.get(), a->ai_addr, a->ai_addrlen) != 0 || ::listen(s.get(), 1) != 0) {
      err = errno;
      continue;
    }
    l.fd = std::move(s);
  }
  ::freeaddrinfo(res);
  if (!l.fd) return MakeError(err, "page server: listen on {}:{}", address.empty() ? "*" : address, port);
  sockaddr_storage ss{};
  socklen_t len = sizeof ss;
  if (::getsockname(l.fd.get(), reinterpret_cast<sockaddr*>(&ss), &len) != 0) return ErrnoError("getsockname");
  l.port = ntohs(ss.ss_family == AF_INET6 ? reinterpret_cast<sockaddr_in6*>(&ss)->sin6_port
                                          : reinterpret_cast<sockaddr_in*>(&ss)->sin_port);
  return l;
}

Result<> ServeOne(int listen_fd, int dir, Log& log) {
  UniqueFd c;
  do c = UniqueFd(::accept4(listen_fd, nullptr, nullptr, SOCK_CLOEXEC));
  while (!c && errno == EINTR);
  if (!c) return ErrnoError("page server: accept");
  return Serve(c.get(), dir, log);
}

Result<pid_t> StartDetached(Listener& l, int dir, Log& log) {
  UniqueFd null(::open("/dev/null", O_RDWR | O_CLOEXEC));
  if (!null) return ErrnoError("open /dev/null");
  pid_t p = ::fork();
  if (p < 0) return ErrnoError("page server: fork");
  if (p > 0) return p;
  ::setsid();
  for (int fd = 0; fd < 3; fd++)
    if (fd != log.fd()) ::dup2(null.get(), fd);
  // Nothing of the parent's but what serving needs: a client holding the
  // parent's other end of a pipe or socket must see it close.
  if (DIR* d = ::opendir("/proc/self/fd")) {
    std::vector<int> shut;
    while (dirent* e = ::readdir(d)) {
      int fd = std::atoi(e->d_name);
      if (e->d_name[0] == '.' || fd < 3 || fd == l.fd.get() || fd == dir || fd == log.fd() || fd == ::dirfd(d))
        continue;
      shut.push_back(fd);
    }
    ::closedir(d);
    for (int fd : shut) ::close(fd);
  }
  auto r = ServeOne(l.fd.get(), dir, log);
  if (!r) log.Error("{}", r.error().what());
  ::_exit(r ? 0 : 1);
}

}  // namespace cryo::ps
