// Small, checked wrappers over read/write/open for whole files and buffers.
#pragma once

#include <sys/types.h>

#include <span>
#include <string>
#include <string_view>

#include "engine/base/result.h"
#include "engine/base/unique_fd.h"

namespace cryo {

// Writes all of data, retrying short writes and EINTR.
Result<> WriteAll(int fd, std::string_view data);
// CRIU's --status-fd: one NUL byte once ready, then the fd is closed.
// Nothing for fd < 0.
Result<> SignalStatusFd(int fd);
Result<> WriteAll(int fd, std::span<const std::byte> data);
// Reads exactly n bytes; fewer at EOF is an error naming how many arrived.
Result<> ReadExact(int fd, void* buf, size_t n);
// Reads up to n bytes, stopping early only at EOF; returns how many.
Result<size_t> ReadFull(int fd, void* buf, size_t n);
// Reads a whole file (procfs files included: they report size 0).
Result<std::string> ReadFile(const std::string& path, size_t limit = 64 << 20);
Result<std::string> ReadFileAt(int dirfd, const std::string& name, size_t limit = 64 << 20);
// Opens with O_CLOEXEC added; the error names the path.
Result<UniqueFd> Open(const std::string& path, int flags, mode_t mode = 0);
Result<UniqueFd> OpenAt(int dirfd, const std::string& name, int flags, mode_t mode = 0);
// Writes a whole file: create (0600 unless given), write, fsync, close.
Result<> WriteFile(const std::string& path, std::string_view data, mode_t mode = 0600);

}  // namespace cryo
