// Small helpers every long operation uses: a monotonic clock for its stats
// and named fault-injection points for its tests.
#pragma once

#include <time.h>

#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "engine/base/result.h"

namespace cryo {

inline uint64_t NowUs() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1000000 + static_cast<uint64_t>(ts.tv_nsec) / 1000;
}

// CRYO_FAULT=<step> makes the step of that name fail, so tests can check
// that a failure there loses nothing.
inline Result<> FaultPoint(std::string_view step) {
  const char* f = std::getenv("CRYO_FAULT");
  if (f != nullptr && step == f) return MakeError(EIO, "injected fault at {}", step);
  return {};
}

}  // namespace cryo
