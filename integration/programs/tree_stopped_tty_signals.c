// Children stopped by the terminal stop signals, each in a process group
// of its own (not orphaned: the root is in the same session): one by
// SIGTSTP, one by SIGTTIN. After restore both are stopped again, and the
// root, waiting with WSTOPPED|WNOWAIT, is told the very signal that
// stopped each one. Then SIGCONT lets them finish.
#define _GNU_SOURCE
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include "prog.h"

static const int sigs[2] = {SIGTSTP, SIGTTIN};

static void wait_stop(pid_t c, int sig, const char* when) {
  siginfo_t si = {0};
  PROG_CHECK(waitid(P_PID, (id_t)c, &si, WSTOPPED | WNOWAIT) == 0, "%s: waitid %d", when, c);
  PROG_CHECK(si.si_code == CLD_STOPPED && si.si_status == sig, "%s: child %d code %d status %d, want stopped by %d",
             when, c, si.si_code, si.si_status, sig);
}

int main(int argc, char** argv) {
  prog_init(argc, argv);
  pid_t c[2];
  for (int i = 0; i < 2; i++) {
    c[i] = prog_fork_child(i);
    if (c[i] == 0) {
      PROG_CHECK(setpgid(0, 0) == 0, "setpgid");
      prog_child_ready(i);
      raise(sigs[i]);
      prog_wait_go();
      prog_pass();
    }
    setpgid(c[i], c[i]);
  }
  prog_wait_children_ready(2);
  for (int i = 0; i < 2; i++) wait_stop(c[i], sigs[i], "before");
  prog_ready();
  prog_wait_go();
  char st[2];
  for (int i = 0; i < 2; i++) st[i] = prog_proc_state(c[i]);
  for (int i = 0; i < 2; i++) {
    if (st[i] == 'T') wait_stop(c[i], sigs[i], "after");
  }
  for (int i = 0; i < 2; i++) kill(c[i], SIGCONT);
  for (int i = 0; i < 2; i++) PROG_CHECK(st[i] == 'T', "child %d state '%c', want stopped 'T'", i, st[i] ? st[i] : '?');
  for (int i = 0; i < 2; i++) prog_check_child(c[i], i);
  prog_pass();
}
