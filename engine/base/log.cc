#include "engine/base/log.h"

#include <unistd.h>

#include <string>

#include "engine/base/files.h"

namespace cryo {

Log::Log(int fd, int level, bool owned) : fd_(fd), level_(level), owned_(owned) {
  clock_gettime(CLOCK_MONOTONIC, &start_);
}

Log::~Log() {
  if (owned_ && fd_ >= 0) ::close(fd_);
}

void Log::Write(LogLevel l, std::string_view text) {
  if (!enabled(l)) return;
  timespec now;
  clock_gettime(CLOCK_MONOTONIC, &now);
  long sec = now.tv_sec - start_.tv_sec;
  long nsec = now.tv_nsec - start_.tv_nsec;
  if (nsec < 0) {
    sec--;
    nsec += 1000000000L;
  }
  std::string line = fmt::format("({:02}.{:06}) {}", sec, nsec / 1000, text);
  if (line.empty() || line.back() != '\n') line.push_back('\n');
  // A log write failing must not fail the operation being logged.
  (void)WriteAll(fd_, line);
}

}  // namespace cryo
