#include "engine/dump/seize.h"

#include "engine/dump/rseq.h"

#include <signal.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <utility>

#include "engine/base/cpu_pin.h"
#include "engine/base/files.h"
#include "engine/proc/proc.h"

namespace cryo {

SeizedProcess::SeizedProcess(SeizedProcess&& o) noexcept
    : pid_(o.pid_), log_(o.log_), threads_(std::move(o.threads_)), masks_(std::move(o.masks_)), cpu_(o.cpu_),
      pending_(std::move(o.pending_)),
      stop_signo_(o.stop_signo_), released_(std::exchange(o.released_, true)) {}

SeizedProcess::~SeizedProcess() {
  if (!released_) (void)Release(ReleaseMode::kResume);
}

Result<> SeizedProcess::SeizeThread(pid_t tid, bool held) {
  if (!held && ptrace(PTRACE_SEIZE, tid, nullptr, PTRACE_O_TRACESYSGOOD) != 0) {
    // A thread that exited after we listed it is simply not there.
    if (errno == ESRCH && tid != pid_) return {};
    return ErrnoError("seize thread {} of {}", tid, pid_);
  }
  threads_.push_back(tid);
  if (cpu_ >= 0) {
    cpu_set_t m;
    if (!GetCpuMask(tid, &m)) CPU_ZERO(&m);
    masks_.push_back(m);
    PinThread(tid, cpu_);
  }
  if (!held && ptrace(PTRACE_INTERRUPT, tid, nullptr, nullptr) != 0 && errno != ESRCH)
    return ErrnoError("interrupt thread {} of {}", tid, pid_);
  for (;;) {
    int status;
    if (::waitpid(tid, &status, __WALL) != tid) return ErrnoError("wait for thread {}", tid);
    if (!WIFSTOPPED(status)) {
      threads_.pop_back();
      if (cpu_ >= 0) masks_.pop_back();
      if (tid != pid_) return {};  // it exited before it could stop
      return MakeError(ESRCH, "process {} exited while being seized", pid_);
    }
    int sig = WSTOPSIG(status);
    int event = status >> 16;
    if (event == PTRACE_EVENT_STOP) {
      // A group-stop reports the stopping signal; an interrupt, SIGTRAP.
      if (sig == SIGSTOP || sig == SIGTSTP || sig == SIGTTIN || sig == SIGTTOU) stop_signo_ = sig;
      return {};
    }
    // A signal on its way to the thread: hold it for release, and wait for
    // our interrupt's stop, which comes next.
    pending_.push_back({tid, sig});
    if (ptrace(PTRACE_CONT, tid, nullptr, nullptr) != 0)
      return ErrnoError("continue thread {} to its interrupt", tid);
  }
}

Result<SeizedProcess> SeizedProcess::Seize(pid_t pid, Log& log, int cpu, const std::set<pid_t>* held) {
  // The caller has read its stat: not a zombie when it looked.
  if (pid <= 0 || ::kill(pid, 0) != 0) return ErrnoError("pid {}", pid);
  std::vector<pid_t> listed = ListThreads(pid);
  if (listed.empty() || listed[0] != pid)
    return MakeError(ESRCH, "pid {} is not a process (a thread of another?)", pid);
  SeizedProcess sp(pid, log);
  sp.cpu_ = cpu;
  // Threads can appear while we seize: list again until nothing is new.
  for (;; listed = ListThreads(pid)) {
    bool added = false;
    for (pid_t tid : listed) {
      if (std::find(sp.threads_.begin(), sp.threads_.end(), tid) != sp.threads_.end()) continue;
      if (std::find(sp.gone_.begin(), sp.gone_.end(), tid) != sp.gone_.end()) continue;
      size_t before = sp.threads_.size();
      CRYO_TRY(sp.SeizeThread(tid, held != nullptr && held->count(tid) > 0));
      if (sp.threads_.size() == before) sp.gone_.push_back(tid);
      added = true;
    }
    if (!added) break;
  }
  // A pending SIGTRAP would be taken by the breakpoints of cryo's remote
  // calls (and merged with theirs): refused, as CRIU does, while nothing
  // about the process has changed yet.
  for (pid_t tid : sp.threads_) {
    auto status = ReadFile(fmt::format("/proc/{}/task/{}/status", pid, tid));
    if (!status) continue;
    for (const char* key : {"SigPnd", "ShdPnd"}) {
      auto v = StatusField(*status, key);
      uint64_t set = v ? std::strtoull(v->c_str(), nullptr, 16) : 0;
      if (set & (uint64_t{1} << (SIGTRAP - 1)))
        return MakeError(ENOTSUP, "pid {}: thread {} has a SIGTRAP pending: not supported", pid, tid);
    }
  }
  // Out of rseq critical sections before cryo runs code in a thread.
  for (pid_t tid : sp.threads_) CRYO_TRY_CTX(AbortRseqSection(tid, log), "pid {}", pid);
  log.Info("seized {} with {} thread(s){}", pid, sp.threads_.size(),
           sp.stop_signo_ ? fmt::format(", stopped by signal {}", sp.stop_signo_) : std::string());
  return sp;
}

Result<> SeizedProcess::Release(ReleaseMode mode) {
  released_ = true;
  if (mode == ReleaseMode::kKill) {
    ::kill(pid_, SIGKILL);
    // Its tracer hears of each thread's death first: until cryo has, the
    // real parent cannot reap the process and its pid stays taken.
    // The leader is reported last, once its threads are gone: them first.
    for (size_t i = threads_.size(); i-- > 0;) {
      int status;
      while (::waitpid(threads_[i], &status, __WALL) == threads_[i] && !WIFEXITED(status) && !WIFSIGNALED(status)) {
      }
    }
    return {};
  }
  for (size_t i = 0; i < masks_.size() && i < threads_.size(); i++)
    if (CPU_COUNT(&masks_[i]) > 0) SetCpuMask(threads_[i], masks_[i]);
  // Stopped again by the signal that had stopped it.
  if (stop_signo_ != 0)
    ::kill(pid_, stop_signo_);
  else if (mode == ReleaseMode::kStop)
    ::kill(pid_, SIGSTOP);
  Result<> r;
  for (pid_t tid : threads_) {
    if (ptrace(PTRACE_DETACH, tid, nullptr, nullptr) != 0 && r)
      r = ErrnoError("detach thread {}", tid);
  }
  for (const Pending& p : pending_) ::syscall(SYS_tgkill, pid_, p.tid, p.sig);
  return r;
}

}  // namespace cryo
