// Log writes CRIU-style lines "(00.001234) text" to one fd when the line's
// level is at or below the configured one. It is a value passed to whoever
// logs; there is no global logger. Levels follow CRIU's -v: 0 only messages
// the user asked for, 1 errors, 2 warnings (default), 3 info, 4 debug.
#pragma once

#include <unistd.h>

#include <utility>

#include <time.h>

#include <string_view>

#include <fmt/format.h>

#include "engine/base/unique_fd.h"

namespace cryo {

enum class LogLevel { kMsg = 0, kError = 1, kWarn = 2, kInfo = 3, kDebug = 4 };

class Log {
 public:
  // A log that writes nowhere.
  Log() = default;
  // Writes to fd (not owned when borrowed, e.g. stderr).
  Log(int fd, int level, bool owned);
  // Moved, the fd goes with it: only one of them closes it.
  Log(Log&& o) noexcept : fd_(std::exchange(o.fd_, -1)), level_(o.level_), owned_(std::exchange(o.owned_, false)),
                          start_(o.start_) {}
  Log& operator=(Log&& o) noexcept {
    if (this != &o) {
      if (owned_ && fd_ >= 0) ::close(fd_);
      fd_ = std::exchange(o.fd_, -1);
      owned_ = std::exchange(o.owned_, false);
      level_ = o.level_;
      start_ = o.start_;
    }
    return *this;
  }
  ~Log();

  int level() const { return level_; }
  int fd() const { return fd_; }
  bool enabled(LogLevel l) const { return fd_ >= 0 && static_cast<int>(l) <= level_; }

  void Write(LogLevel l, std::string_view text);

  template <typename... Args>
  void Error(fmt::format_string<Args...> f, Args&&... a) { Emit(LogLevel::kError, "Error: ", f, std::forward<Args>(a)...); }
  template <typename... Args>
  void Warn(fmt::format_string<Args...> f, Args&&... a) { Emit(LogLevel::kWarn, "Warn: ", f, std::forward<Args>(a)...); }
  template <typename... Args>
  void Info(fmt::format_string<Args...> f, Args&&... a) { Emit(LogLevel::kInfo, "", f, std::forward<Args>(a)...); }
  template <typename... Args>
  void Debug(fmt::format_string<Args...> f, Args&&... a) { Emit(LogLevel::kDebug, "", f, std::forward<Args>(a)...); }

 private:
  template <typename... Args>
  void Emit(LogLevel l, std::string_view prefix, fmt::format_string<Args...> f, Args&&... a) {
    if (!enabled(l)) return;
    std::string s(prefix);
    fmt::format_to(std::back_inserter(s), f, std::forward<Args>(a)...);
    Write(l, s);
  }

  int fd_ = -1;
  int level_ = 2;
  bool owned_ = false;
  timespec start_{};
};

}  // namespace cryo
