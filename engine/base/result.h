// Errors as values: Result<T> is std::expected<T, Error>. An Error carries the
// errno that caused it and a context chain built on the way up, outermost
// first: "restore task 42: mmap vma 0x7f0000: ENOMEM".
#pragma once

#include <cerrno>
#include <expected>
#include <string>
#include <string_view>
#include <utility>

#include <fmt/format.h>

namespace cryo {

class Error {
 public:
  Error(int err, std::string msg) : errno_(err), msg_(std::move(msg)) {}

  int err() const { return errno_; }
  const std::string& message() const { return msg_; }

  // Full text: the context chain, then the errno name when there is one.
  std::string what() const;

  // Prefixes context: Error(ENOENT, "open x").context("load y") reads
  // "load y: open x".
  Error context(std::string_view outer) const& {
    return Error(errno_, fmt::format("{}: {}", outer, msg_));
  }
  Error context(std::string_view outer) && {
    msg_ = fmt::format("{}: {}", outer, msg_);
    return std::move(*this);
  }

 private:
  int errno_;
  std::string msg_;
};

template <typename T = void>
using Result = std::expected<T, Error>;

// An error from the current errno, for a failed syscall.
inline std::unexpected<Error> ErrnoError(std::string msg) {
  return std::unexpected(Error(errno, std::move(msg)));
}
template <typename... Args>
std::unexpected<Error> ErrnoError(fmt::format_string<Args...> f, Args&&... args) {
  int e = errno;
  return std::unexpected(Error(e, fmt::format(f, std::forward<Args>(args)...)));
}

// An error with an explicit errno (0 when no syscall is to blame).
inline std::unexpected<Error> MakeError(int err, std::string msg) {
  return std::unexpected(Error(err, std::move(msg)));
}
template <typename... Args>
std::unexpected<Error> MakeError(int err, fmt::format_string<Args...> f, Args&&... args) {
  return std::unexpected(Error(err, fmt::format(f, std::forward<Args>(args)...)));
}

// Name of an errno value ("ENOENT"), or "errno N" when unknown.
std::string_view ErrnoName(int err);

}  // namespace cryo

// Propagates an error, adding no context: `auto v = CRYO_TRY(f());`.
#define CRYO_TRY(expr)                                             \
  ({                                                               \
    auto&& cryo_try_r_ = (expr);                                   \
    if (!cryo_try_r_) return std::unexpected(std::move(cryo_try_r_).error()); \
    std::move(cryo_try_r_).value();                                \
  })

// Propagates an error with context: `CRYO_TRY_CTX(f(), "load {}", path);`.
#define CRYO_TRY_CTX(expr, ...)                                    \
  ({                                                               \
    auto&& cryo_try_r_ = (expr);                                   \
    if (!cryo_try_r_)                                              \
      return std::unexpected(std::move(cryo_try_r_).error().context(fmt::format(__VA_ARGS__))); \
    std::move(cryo_try_r_).value();                                \
  })
