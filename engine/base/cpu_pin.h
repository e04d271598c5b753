// Keeping cryo and the tasks it drives over ptrace on one CPU while it
// does: every remote syscall is a stop and a wakeup, and a wakeup across
// CPUs can cost ten times one on the same CPU (seen on this machine: 73 us
// against 8 us per stop). Nothing here is visible to the tasks afterwards:
// their masks are put back.
#pragma once

#include <sched.h>
#include <sys/types.h>

namespace cryo {

// The CPU mask of thread `tid` (0: the caller); false if it cannot be read.
inline bool GetCpuMask(pid_t tid, cpu_set_t* out) { return ::sched_getaffinity(tid, sizeof *out, out) == 0; }

// Puts thread `tid` on the one CPU `cpu`; best effort (a cpuset may forbid).
inline void PinThread(pid_t tid, int cpu) {
  cpu_set_t one;
  CPU_ZERO(&one);
  CPU_SET(cpu, &one);
  (void)::sched_setaffinity(tid, sizeof one, &one);
}

inline void SetCpuMask(pid_t tid, const cpu_set_t& mask) { (void)::sched_setaffinity(tid, sizeof mask, &mask); }

// Pins the calling thread to the CPU it runs on until destroyed.
class CpuPin {
 public:
  CpuPin() {
    ok_ = GetCpuMask(0, &saved_);
    cpu_ = ::sched_getcpu();
    if (ok_ && cpu_ >= 0) PinThread(0, cpu_);
  }
  ~CpuPin() {
    if (ok_) SetCpuMask(0, saved_);
  }
  CpuPin(const CpuPin&) = delete;
  CpuPin& operator=(const CpuPin&) = delete;

  int cpu() const { return cpu_; }
  // The mask the caller had before: what restored tasks would have
  // inherited from it.
  const cpu_set_t& saved() const { return saved_; }
  bool ok() const { return ok_ && cpu_ >= 0; }

 private:
  cpu_set_t saved_{};
  int cpu_ = -1;
  bool ok_ = false;
};

}  // namespace cryo
