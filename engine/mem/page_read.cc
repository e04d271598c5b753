#include "engine/mem/page_read.h"

#include <fcntl.h>
#include <sys/uio.h>
#include <unistd.h>

#include <vector>

#include "engine/base/files.h"

namespace cryo {

Result<RemoteMemory> RemoteMemory::Open(pid_t pid) {
  UniqueFd mem = CRYO_TRY(cryo::Open(fmt::format("/proc/{}/mem", pid), O_RDONLY));
  return RemoteMemory(pid, std::move(mem));
}

Result<> RemoteMemory::ReadViaMem(uint64_t addr, size_t len, char* dst) {
  size_t got = 0;
  while (got < len) {
    ssize_t n = ::pread(mem_.get(), dst + got, len - got, static_cast<off_t>(addr + got));
    if (n < 0) {
      if (errno == EINTR) continue;
      return ErrnoError("read pid {} memory at {:#x}", pid_, addr + got);
    }
    if (n == 0) return MakeError(EIO, "read pid {} memory at {:#x}: end of file", pid_, addr + got);
    got += static_cast<size_t>(n);
  }
  return {};
}

Result<> RemoteMemory::Read(uint64_t addr, size_t len, char* dst, bool readable) {
  PageRun run{addr, addr + len};
  return ReadRuns(std::span(&run, 1), dst, readable);
}

Result<> RemoteMemory::ReadRuns(std::span<const PageRun> runs, char* dst, bool readable) {
  if (!readable) {
    for (const PageRun& r : runs) {
      CRYO_TRY(ReadViaMem(r.start, r.end - r.start, dst));
      dst += r.end - r.start;
    }
    return {};
  }
  // process_vm_readv takes at most IOV_MAX remote iovecs a call.
  constexpr size_t kMaxIov = 1024;
  size_t i = 0;
  std::vector<iovec> remote;
  remote.reserve(std::min(runs.size(), kMaxIov));
  while (i < runs.size()) {
    remote.clear();
    size_t total = 0;
    for (size_t j = i; j < runs.size() && remote.size() < kMaxIov; j++) {
      remote.push_back({reinterpret_cast<void*>(runs[j].start), runs[j].end - runs[j].start});
      total += runs[j].end - runs[j].start;
    }
    iovec local{dst, total};
    ssize_t n = ::process_vm_readv(pid_, &local, 1, remote.data(), remote.size(), 0);
    if (n < 0 && errno != EFAULT && errno != EIO)
      return ErrnoError("process_vm_readv pid {} at {:#x}", pid_, runs[i].start);
    size_t done = n < 0 ? 0 : static_cast<size_t>(n);
    // Whatever came up short (a page the process cannot read after all) is
    // read through /proc/PID/mem, run by run.
    size_t off = 0;
    for (const iovec& r : remote) {
      size_t len = r.iov_len;
      if (off + len > done) {
        size_t have = done > off ? done - off : 0;
        CRYO_TRY(ReadViaMem(reinterpret_cast<uint64_t>(r.iov_base) + have, len - have,
                            dst + off + have));
      }
      off += len;
    }
    dst += total;
    i += remote.size();
  }
  return {};
}

}  // namespace cryo
