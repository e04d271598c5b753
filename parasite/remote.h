// Running syscalls inside a ptrace-stopped thread (DESIGN.md decision 3).
// The thread's registers are saved; each call points rip at a `syscall;
// int3` sequence, loads the arguments, lets the thread run to the int3 and
// reads the result. Restore() puts back the registers (and the code bytes,
// when they were patched over the thread's own code).
#pragma once

#include <sys/types.h>

#include <array>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "arch/x86_64/regs.h"
#include "engine/base/result.h"
#include "engine/base/unique_fd.h"

namespace cryo {

class RemoteTask {
 public:
  // Patches `syscall; int3` over the code at the thread's rip (restored by
  // Restore). For a thread stopped by the dumper.
  static Result<RemoteTask> AtCurrentIp(pid_t tid);
  // Uses a `syscall` instruction already at `insn` (a trampoline the task
  // mapped, or one in the vDSO).
  static Result<RemoteTask> AtTrampoline(pid_t tid, uint64_t insn);

  RemoteTask(RemoteTask&& o) noexcept
      : tid_(std::exchange(o.tid_, -1)), saved_(o.saved_), insn_(o.insn_), mem_(std::move(o.mem_)),
        patched_(o.patched_), orig_bytes_(o.orig_bytes_), stray_(std::move(o.stray_)),
        restored_(o.restored_), last_new_(o.last_new_), mask_(o.mask_), mask_changed_(o.mask_changed_) {}
  RemoteTask& operator=(RemoteTask&&) = delete;
  ~RemoteTask();

  pid_t tid() const { return tid_; }
  const x86::Regs& saved_regs() const { return saved_; }
  // Changes the registers Restore() puts back (restore sets the final ones).
  void set_saved_regs(const x86::Regs& r) { saved_ = r; }

  // The raw result: negative values are -errno.
  Result<long> Syscall(long nr, uint64_t a1 = 0, uint64_t a2 = 0, uint64_t a3 = 0,
                       uint64_t a4 = 0, uint64_t a5 = 0, uint64_t a6 = 0);
  // The same, turning a negative result into an error naming the call.
  Result<long> Check(const char* what, long nr, uint64_t a1 = 0, uint64_t a2 = 0,
                     uint64_t a3 = 0, uint64_t a4 = 0, uint64_t a5 = 0, uint64_t a6 = 0);

  // Runs code at `entry` with rdi, rsi = a1, a2 until it stops on the int3
  // that leaves rip at `end`.
  Result<> RunCode(uint64_t entry, uint64_t end, uint64_t a1, uint64_t a2);

  // Memory of the task, through /proc/PID/mem (works on read-only pages).
  Result<> Write(uint64_t addr, const void* data, size_t len);
  Result<> Read(uint64_t addr, void* data, size_t len);

  // Signals that arrived while the task ran our syscalls; the caller
  // re-queues them (nothing may be lost).
  const std::vector<int>& stray_signals() const { return stray_; }
  // The task (or thread) the last remote clone created, by its pid in
  // cryo's pid namespace (the clone itself returns it in the caller's):
  // from the clone's ptrace event. 0 when none was seen.
  pid_t last_new_task() const { return last_new_; }

  // Puts back registers and patched bytes (and, for AtCurrentIp, the
  // signal mask); the task stays stopped.
  Result<> Restore();

 private:
  Result<> RunToSyscallStop(long nr);
  Result<> RunToBreakpoint(long nr, uint64_t end);
  RemoteTask(pid_t tid, x86::Regs saved, uint64_t insn, UniqueFd mem)
      : tid_(tid), saved_(saved), insn_(insn), mem_(std::move(mem)) {}

  pid_t tid_ = -1;
  x86::Regs saved_{};
  uint64_t insn_ = 0;
  UniqueFd mem_;
  bool patched_ = false;
  std::array<unsigned char, sizeof x86::kSyscallInsn> orig_bytes_{};
  std::vector<int> stray_;
  bool restored_ = false;
  pid_t last_new_ = 0;
  uint64_t mask_ = 0;  // the thread's own signal mask, when SIGTRAP had to be unblocked
  bool mask_changed_ = false;
  void NoteEvent(int status);
  Result<> UnblockTrap(bool keep);
};

}  // namespace cryo
