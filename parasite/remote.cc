#include "parasite/remote.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>

#include "engine/base/files.h"

namespace cryo {

static Result<UniqueFd> OpenMem(pid_t tid) {
  return Open(fmt::format("/proc/{}/mem", tid), O_RDWR);
}

// Syscall stops must be told apart from SIGTRAPs; threads a remote clone3
// creates start traced and stopped, before running any code; the task's
// seccomp filters must not judge the syscalls we run in it.
static Result<> SetSysGood(pid_t tid) {
  if (ptrace(PTRACE_SETOPTIONS, tid, nullptr,
             PTRACE_O_TRACESYSGOOD | PTRACE_O_TRACECLONE | PTRACE_O_TRACEFORK | PTRACE_O_SUSPEND_SECCOMP) != 0)
    return ErrnoError("PTRACE_SETOPTIONS {}", tid);
  return {};
}

// The int3 after each call raises a forced SIGTRAP: were SIGTRAP blocked,
// the kernel would unblock it and reset its handler to SIG_DFL. It stays
// unblocked while cryo runs code in the thread; `keep`: the thread's own
// mask is put back by Restore().
Result<> RemoteTask::UnblockTrap(bool keep) {
  uint64_t mask = 0;
  if (ptrace(PTRACE_GETSIGMASK, tid_, sizeof mask, &mask) != 0) return ErrnoError("PTRACE_GETSIGMASK {}", tid_);
  constexpr uint64_t kTrap = uint64_t{1} << (SIGTRAP - 1);
  if (!(mask & kTrap)) return {};
  uint64_t open = mask & ~kTrap;
  if (ptrace(PTRACE_SETSIGMASK, tid_, sizeof open, &open) != 0) return ErrnoError("PTRACE_SETSIGMASK {}", tid_);
  mask_ = mask;
  mask_changed_ = keep;
  return {};
}

Result<RemoteTask> RemoteTask::AtCurrentIp(pid_t tid) {
  CRYO_TRY(SetSysGood(tid));
  x86::Regs regs = CRYO_TRY(x86::GetRegs(tid));
  UniqueFd mem = CRYO_TRY(OpenMem(tid));
  RemoteTask t(tid, regs, regs.rip, std::move(mem));
  CRYO_TRY(t.UnblockTrap(true));
  CRYO_TRY_CTX(t.Read(regs.rip, t.orig_bytes_.data(), t.orig_bytes_.size()),
               "save code of {} at {:#x}", tid, regs.rip);
  CRYO_TRY_CTX(t.Write(regs.rip, x86::kSyscallInsn, sizeof x86::kSyscallInsn),
               "patch code of {} at {:#x}", tid, regs.rip);
  t.patched_ = true;
  return t;
}

Result<RemoteTask> RemoteTask::AtTrampoline(pid_t tid, uint64_t insn) {
  CRYO_TRY(SetSysGood(tid));
  x86::Regs regs = CRYO_TRY(x86::GetRegs(tid));
  UniqueFd mem = CRYO_TRY(OpenMem(tid));
  RemoteTask t(tid, regs, insn, std::move(mem));
  // A task being built: its final mask is set by the builder.
  CRYO_TRY(t.UnblockTrap(false));
  return t;
}

RemoteTask::~RemoteTask() {
  if (tid_ > 0 && !restored_) (void)Restore();
}

Result<> RemoteTask::Write(uint64_t addr, const void* data, size_t len) {
  ssize_t n = ::pwrite(mem_.get(), data, len, static_cast<off_t>(addr));
  if (n != static_cast<ssize_t>(len)) {
    if (n >= 0) errno = EIO;
    return ErrnoError("write {} bytes at {:#x} in {}", len, addr, tid_);
  }
  return {};
}

Result<> RemoteTask::Read(uint64_t addr, void* data, size_t len) {
  ssize_t n = ::pread(mem_.get(), data, len, static_cast<off_t>(addr));
  if (n != static_cast<ssize_t>(len)) {
    if (n >= 0) errno = EIO;
    return ErrnoError("read {} bytes at {:#x} in {}", len, addr, tid_);
  }
  return {};
}

Result<long> RemoteTask::Syscall(long nr, uint64_t a1, uint64_t a2, uint64_t a3, uint64_t a4,
                                 uint64_t a5, uint64_t a6) {
  x86::Regs r = saved_;
  r.rip = insn_;
  r.rax = static_cast<uint64_t>(nr);
  // No syscall is in progress as far as the kernel's restart logic goes.
  r.orig_rax = static_cast<uint64_t>(-1L);
  r.rdi = a1;
  r.rsi = a2;
  r.rdx = a3;
  r.r10 = a4;
  r.r8 = a5;
  r.r9 = a6;
  CRYO_TRY(x86::SetRegs(tid_, r));
  // Most calls run to the int3 after the instruction: one stop. A call that
  // may take that code away (munmap) or never come back runs from its
  // entry stop to its exit stop instead.
  bool careful = nr == SYS_munmap || nr == SYS_exit || nr == SYS_exit_group;
  if (careful) {
    for (int phase = 0; phase < 2; phase++) CRYO_TRY(RunToSyscallStop(nr));
  } else {
    CRYO_TRY(RunToBreakpoint(nr, insn_ + sizeof x86::kSyscallInsn));
  }
  x86::Regs after = CRYO_TRY(x86::GetRegs(tid_));
  if (!careful) after.rip -= 1;  // past the int3
  if (after.rip != insn_ + 2)
    return MakeError(EFAULT, "remote syscall {} in {} stopped at {:#x}, not after {:#x}", nr, tid_,
                     after.rip, insn_);
  return static_cast<long>(after.rax);
}

Result<> RemoteTask::RunCode(uint64_t entry, uint64_t end, uint64_t a1, uint64_t a2) {
  x86::Regs r = saved_;
  r.rip = entry;
  r.orig_rax = static_cast<uint64_t>(-1L);
  r.rdi = a1;
  r.rsi = a2;
  CRYO_TRY(x86::SetRegs(tid_, r));
  return RunToBreakpoint(-1, end);
}

void RemoteTask::NoteEvent(int status) {
  int event = status >> 16;
  if (event != PTRACE_EVENT_CLONE && event != PTRACE_EVENT_FORK && event != PTRACE_EVENT_VFORK) return;
  unsigned long msg = 0;
  if (ptrace(PTRACE_GETEVENTMSG, tid_, nullptr, &msg) == 0) last_new_ = static_cast<pid_t>(msg);
}

Result<> RemoteTask::RunToBreakpoint(long nr, uint64_t end) {
  for (;;) {
    if (ptrace(PTRACE_CONT, tid_, nullptr, nullptr) != 0) return ErrnoError("PTRACE_CONT {} for syscall {}", tid_, nr);
    int status;
    if (::waitpid(tid_, &status, __WALL) != tid_) return ErrnoError("wait {} in syscall {}", tid_, nr);
    if (WIFEXITED(status) || WIFSIGNALED(status))
      return MakeError(ESRCH, "task {} died in remote syscall {}", tid_, nr);
    if (!WIFSTOPPED(status)) continue;
    int sig = WSTOPSIG(status);
    // Event stops (a clone we asked for, PTRACE_INTERRUPT, group-stop).
    if ((status >> 16) != 0) {
      NoteEvent(status);
      continue;
    }
    if (sig == SIGTRAP) {
      x86::Regs at = CRYO_TRY(x86::GetRegs(tid_));
      if (at.rip == end) return {};
      return MakeError(EFAULT, "remote syscall {} in {} trapped at {:#x}", nr, tid_, at.rip);
    }
    if (sig == SIGSEGV || sig == SIGBUS || sig == SIGILL) {
      x86::Regs at = CRYO_TRY(x86::GetRegs(tid_));
      return MakeError(EFAULT, "remote syscall {} in {} faulted (signal {}) at {:#x}", nr, tid_, sig, at.rip);
    }
    // A signal sent to the task meanwhile: keep it for later, carry on
    // (the next resume passes no signal, so it is not delivered now).
    stray_.push_back(sig);
  }
}

Result<> RemoteTask::RunToSyscallStop(long nr) {
  int deliver = 0;
  for (;;) {
    if (ptrace(PTRACE_SYSCALL, tid_, nullptr, reinterpret_cast<void*>(static_cast<long>(deliver))) != 0)
      return ErrnoError("PTRACE_SYSCALL {} for syscall {}", tid_, nr);
    deliver = 0;
    int status;
    if (::waitpid(tid_, &status, __WALL) != tid_) return ErrnoError("wait {} in syscall {}", tid_, nr);
    if (WIFEXITED(status) || WIFSIGNALED(status))
      return MakeError(ESRCH, "task {} died in remote syscall {}", tid_, nr);
    if (!WIFSTOPPED(status)) continue;
    int sig = WSTOPSIG(status);
    if (sig == (SIGTRAP | 0x80)) return {};
    // Event stops (a clone we asked for, PTRACE_INTERRUPT, group-stop).
    if ((status >> 16) != 0) {
      NoteEvent(status);
      continue;
    }
    if (sig == SIGSEGV || sig == SIGBUS || sig == SIGILL || sig == SIGTRAP) {
      x86::Regs at = CRYO_TRY(x86::GetRegs(tid_));
      return MakeError(EFAULT, "remote syscall {} in {} faulted (signal {}) at {:#x}", nr, tid_,
                       sig, at.rip);
    }
    // A signal sent to the task meanwhile: keep it for later, carry on.
    stray_.push_back(sig);
  }
}

Result<long> RemoteTask::Check(const char* what, long nr, uint64_t a1, uint64_t a2, uint64_t a3,
                               uint64_t a4, uint64_t a5, uint64_t a6) {
  long r = CRYO_TRY(Syscall(nr, a1, a2, a3, a4, a5, a6));
  if (r < 0 && r > -4096) return MakeError(static_cast<int>(-r), "{} in task {}", what, tid_);
  return r;
}

Result<> RemoteTask::Restore() {
  restored_ = true;
  if (patched_) {
    CRYO_TRY(Write(insn_, orig_bytes_.data(), orig_bytes_.size()));
    patched_ = false;
  }
  if (mask_changed_) {
    if (ptrace(PTRACE_SETSIGMASK, tid_, sizeof mask_, &mask_) != 0) return ErrnoError("PTRACE_SETSIGMASK {}", tid_);
    mask_changed_ = false;
  }
  return x86::SetRegs(tid_, saved_);
}

}  // namespace cryo
