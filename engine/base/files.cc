#include "engine/base/files.h"

#include <fcntl.h>
#include <unistd.h>

namespace cryo {

Result<> WriteAll(int fd, std::string_view data) {
  const char* p = data.data();
  size_t left = data.size();
  while (left > 0) {
    ssize_t n = ::write(fd, p, left);
    if (n < 0) {
      if (errno == EINTR) continue;
      return ErrnoError("write fd {}", fd);
    }
    p += n;
    left -= static_cast<size_t>(n);
  }
  return {};
}

Result<> WriteAll(int fd, std::span<const std::byte> data) {
  return WriteAll(fd, std::string_view(reinterpret_cast<const char*>(data.data()), data.size()));
}

Result<size_t> ReadFull(int fd, void* buf, size_t n) {
  size_t got = 0;
  auto* p = static_cast<char*>(buf);
  while (got < n) {
    ssize_t r = ::read(fd, p + got, n - got);
    if (r < 0) {
      if (errno == EINTR) continue;
      return ErrnoError("read fd {}", fd);
    }
    if (r == 0) break;
    got += static_cast<size_t>(r);
  }
  return got;
}

Result<> ReadExact(int fd, void* buf, size_t n) {
  size_t got = CRYO_TRY(ReadFull(fd, buf, n));
  if (got != n) return MakeError(0, "short read on fd {}: {} of {} bytes", fd, got, n);
  return {};
}

Result<UniqueFd> Open(const std::string& path, int flags, mode_t mode) {
  int fd = ::open(path.c_str(), flags | O_CLOEXEC, mode);
  if (fd < 0) return ErrnoError("open {}", path);
  return UniqueFd(fd);
}

Result<UniqueFd> OpenAt(int dirfd, const std::string& name, int flags, mode_t mode) {
  int fd = ::openat(dirfd, name.c_str(), flags | O_CLOEXEC, mode);
  if (fd < 0) return ErrnoError("open {}", name);
  return UniqueFd(fd);
}

static Result<std::string> ReadWhole(int fd, const std::string& name, size_t limit) {
  std::string out;
  char buf[16384];
  for (;;) {
    ssize_t r = ::read(fd, buf, sizeof buf);
    if (r < 0) {
      if (errno == EINTR) continue;
      return ErrnoError("read {}", name);
    }
    if (r == 0) break;
    if (out.size() + static_cast<size_t>(r) > limit)
      return MakeError(EFBIG, "read {}: larger than {} bytes", name, limit);
    out.append(buf, static_cast<size_t>(r));
  }
  return out;
}

Result<std::string> ReadFile(const std::string& path, size_t limit) {
  UniqueFd fd = CRYO_TRY(Open(path, O_RDONLY));
  return ReadWhole(fd.get(), path, limit);
}

Result<std::string> ReadFileAt(int dirfd, const std::string& name, size_t limit) {
  UniqueFd fd = CRYO_TRY(OpenAt(dirfd, name, O_RDONLY));
  return ReadWhole(fd.get(), name, limit);
}

Result<> WriteFile(const std::string& path, std::string_view data, mode_t mode) {
  UniqueFd fd = CRYO_TRY(Open(path, O_WRONLY | O_CREAT | O_TRUNC, mode));
  CRYO_TRY_CTX(WriteAll(fd.get(), data), "write {}", path);
  if (::fsync(fd.get()) != 0) return ErrnoError("fsync {}", path);
  return {};
}

Result<> SignalStatusFd(int fd) {
  if (fd < 0) return {};
  UniqueFd status(fd);
  if (::write(status.get(), "", 1) != 1) return ErrnoError("write to --status-fd {}", fd);
  return {};
}

}  // namespace cryo
