// What sits unread in a pipe or FIFO, read without taking it away: the
// dumped tree must find it there again if the dump fails.
#pragma once

#include <string>

#include "engine/base/result.h"

namespace cryo {

struct PipeContents {
  std::string data;
  uint32_t size = 0;  // buffer size, F_GETPIPE_SZ
};

// `proc_path` is /proc/PID/fd/N of any end of the pipe.
Result<PipeContents> PeekPipe(const std::string& proc_path);

}  // namespace cryo
