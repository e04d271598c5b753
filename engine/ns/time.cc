#include "engine/ns/time.h"

#include <fcntl.h>
#include <unistd.h>

#include <cstdio>

#include "engine/base/files.h"

namespace cryo::ns {

Result<img::timens_entry> DumpTime(pid_t pid) {
  std::string text = CRYO_TRY(ReadFile(fmt::format("/proc/{}/timens_offsets", pid)));
  img::timens_entry e;
  bool mono = false, boot = false;
  std::string_view s = text;
  while (!s.empty()) {
    size_t nl = s.find('\n');
    std::string line(s.substr(0, nl));
    s = nl == std::string_view::npos ? std::string_view() : s.substr(nl + 1);
    char clock[32];
    long long sec = 0, nsec = 0;
    if (std::sscanf(line.c_str(), "%31s %lld %lld", clock, &sec, &nsec) != 3) continue;
    img::timespec* t = nullptr;
    if (std::string_view(clock) == "monotonic") t = e.mutable_monotonic(), mono = true;
    if (std::string_view(clock) == "boottime") t = e.mutable_boottime(), boot = true;
    if (!t) continue;
    t->set_tv_sec(static_cast<uint64_t>(sec));
    t->set_tv_nsec(static_cast<uint64_t>(nsec));
  }
  if (!mono || !boot) return MakeError(EIO, "timens_offsets of {}: '{}'", pid, text);
  return e;
}

Result<> ApplyTime(const img::timens_entry& e, pid_t pid) {
  std::string text = fmt::format("monotonic {} {}\nboottime {} {}\n", static_cast<int64_t>(e.monotonic().tv_sec()),
                                 e.monotonic().tv_nsec(), static_cast<int64_t>(e.boottime().tv_sec()),
                                 e.boottime().tv_nsec());
  UniqueFd fd = CRYO_TRY(Open(pid > 0 ? fmt::format("/proc/{}/timens_offsets", pid) : std::string("/proc/self/timens_offsets"),
                              O_WRONLY | O_CLOEXEC));
  if (::write(fd.get(), text.data(), text.size()) < 0) return ErrnoError("write timens_offsets");
  return {};
}

}  // namespace cryo::ns
