#include "engine/base/result.h"

#include <cstring>

namespace cryo {

std::string_view ErrnoName(int err) {
  // strerrorname_np is glibc >= 2.32; Debian 12 has 2.36.
  const char* name = strerrorname_np(err);
  if (name != nullptr) return name;
  return "unknown errno";
}

std::string Error::what() const {
  if (errno_ == 0) return msg_;
  return fmt::format("{}: {}", msg_, ErrnoName(errno_));
}

}  // namespace cryo
