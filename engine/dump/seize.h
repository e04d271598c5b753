// Stopping every thread of a process with PTRACE_SEIZE + PTRACE_INTERRUPT,
// and letting it go again exactly as it was (or killing it, or leaving it
// stopped) when the dump is over. Nothing about the process changes while
// it is held: signals that arrive meanwhile are delivered on release.
#pragma once

#include <sys/types.h>

#include <sched.h>

#include <set>
#include <vector>

#include "engine/base/log.h"
#include "engine/base/result.h"

namespace cryo {

enum class ReleaseMode { kResume, kKill, kStop };

class SeizedProcess {
 public:
  // `cpu` >= 0: each thread is kept on that CPU (cryo's) while held, and
  // gets its own CPU mask back on release. Threads in `held` are already
  // seized and interrupted (the cgroup freezer did it): only their stops
  // are waited for.
  static Result<SeizedProcess> Seize(pid_t pid, Log& log, int cpu = -1, const std::set<pid_t>* held = nullptr);
  SeizedProcess(SeizedProcess&& o) noexcept;
  SeizedProcess& operator=(SeizedProcess&&) = delete;
  // Resumes whatever is still held (a failed dump leaves the process running).
  ~SeizedProcess();

  pid_t pid() const { return pid_; }
  // Leader first.
  const std::vector<pid_t>& threads() const { return threads_; }
  // The process was in group-stop when seized, and the signal that
  // stopped it (SIGSTOP, SIGTSTP, SIGTTIN or SIGTTOU; 0 when running).
  bool was_stopped() const { return stop_signo_ != 0; }
  int stop_signo() const { return stop_signo_; }
  // Signals caught on their way to a thread while seizing; they are
  // re-delivered on release.
  void AddPendingSignal(pid_t tid, int sig) { pending_.push_back({tid, sig}); }

  Result<> Release(ReleaseMode mode);

 private:
  SeizedProcess(pid_t pid, Log& log) : pid_(pid), log_(&log) {}
  Result<> SeizeThread(pid_t tid, bool held);

  struct Pending {
    pid_t tid;
    int sig;
  };
  pid_t pid_;
  Log* log_;
  std::vector<pid_t> threads_;
  std::vector<cpu_set_t> masks_;  // by thread, when pinned
  int cpu_ = -1;
  std::vector<pid_t> gone_;  // listed, but exited before they stopped
  std::vector<Pending> pending_;
  int stop_signo_ = 0;
  bool released_ = false;
};

}  // namespace cryo
