#include "engine/dump/rseq.h"

#include <fcntl.h>
#include <sys/ptrace.h>
#include <unistd.h>

#include <cstddef>
#include <cstdint>

#include "arch/x86_64/regs.h"
#include "engine/base/files.h"
#include "engine/base/linux_compat.h"
#include "engine/base/unique_fd.h"

namespace cryo {
namespace {

struct RseqConfiguration {
  uint64_t rseq_abi_pointer;
  uint32_t rseq_abi_size;
  uint32_t signature;
  uint32_t flags;
  uint32_t pad;
};

// The kernel's struct rseq_cs (uapi/linux/rseq.h).
struct RseqCs {
  uint32_t version;
  uint32_t flags;
  uint64_t start_ip;
  uint64_t post_commit_offset;
  uint64_t abort_ip;
};

constexpr uint64_t kRseqCsOffset = 8;  // struct rseq: cpu_id_start, cpu_id, rseq_cs

Result<> ReadAt(int fd, uint64_t addr, void* out, size_t len) {
  if (::pread(fd, out, len, static_cast<off_t>(addr)) != static_cast<ssize_t>(len))
    return ErrnoError("read {} bytes at {:#x}", len, addr);
  return {};
}

}  // namespace

Result<> AbortRseqSection(pid_t tid, Log& log) {
  RseqConfiguration rc{};
  if (ptrace(static_cast<__ptrace_request>(PTRACE_GET_RSEQ_CONFIGURATION), tid, sizeof rc, &rc) <= 0 ||
      rc.rseq_abi_pointer == 0)
    return {};
  UniqueFd mem = CRYO_TRY(Open(fmt::format("/proc/{}/mem", tid), O_RDWR | O_CLOEXEC));
  uint64_t cs_ptr = 0;
  CRYO_TRY_CTX(ReadAt(mem.get(), rc.rseq_abi_pointer + kRseqCsOffset, &cs_ptr, sizeof cs_ptr),
               "rseq area of thread {}", tid);
  if (cs_ptr == 0) return {};
  RseqCs cs{};
  // A descriptor the thread cannot read would fail it on resume: leave it
  // to the kernel.
  if (!ReadAt(mem.get(), cs_ptr, &cs, sizeof cs)) return {};
  x86::Regs regs = CRYO_TRY(x86::GetRegs(tid));
  if (regs.rip < cs.start_ip || regs.rip - cs.start_ip >= cs.post_commit_offset) return {};
  uint64_t zero = 0;
  if (::pwrite(mem.get(), &zero, sizeof zero, static_cast<off_t>(rc.rseq_abi_pointer + kRseqCsOffset)) !=
      static_cast<ssize_t>(sizeof zero))
    return ErrnoError("clear rseq_cs of thread {}", tid);
  log.Info("thread {}: in an rseq critical section at {:#x}, aborted to {:#x}", tid, regs.rip, cs.abort_ip);
  regs.rip = cs.abort_ip;
  return x86::SetRegs(tid, regs);
}

}  // namespace cryo
