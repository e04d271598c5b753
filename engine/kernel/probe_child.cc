#include "engine/kernel/probe_child.h"
#include "engine/base/linux_compat.h"

#include <linux/filter.h>
#include <linux/seccomp.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdint>


namespace cryo {
namespace {

struct RseqConfig {
  uint64_t rseq_abi_pointer;
  uint32_t rseq_abi_size;
  uint32_t signature;
  uint32_t flags;
  uint32_t pad;
};

}  // namespace

TracedChildProbe ProbeWithTracedChild() {
  TracedChildProbe out;
  pid_t child = fork();
  if (child < 0) return out;
  if (child == 0) {
    // Async-signal-safe only: install an allow-all filter, stop, exit.
    ptrace(PTRACE_TRACEME, 0, nullptr, nullptr);
    sock_filter allow[] = {BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW)};
    sock_fprog prog = {1, allow};
    prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
    syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &prog);
    raise(SIGSTOP);
    _exit(0);
  }
  int status;
  if (waitpid(child, &status, 0) == child && WIFSTOPPED(status)) {
    sock_filter buf[4];
    long n = ptrace(static_cast<__ptrace_request>(PTRACE_SECCOMP_GET_FILTER), child, 0, buf);
    out.seccomp_filter_dump = n == 1;
    RseqConfig conf{};
    long r = ptrace(static_cast<__ptrace_request>(PTRACE_GET_RSEQ_CONFIGURATION), child,
                    sizeof conf, &conf);
    out.rseq_config = r > 0;
  }
  kill(child, SIGKILL);
  waitpid(child, &status, 0);
  return out;
}

}  // namespace cryo
