// The root holds a pidfd (pidfd_open) of its child, which sleeps until go.
// After restore the pidfd still refers to that child:
//   - it keeps FD_CLOEXEC (pidfd_open sets it);
//   - /proc/self/fdinfo shows "Pid:\t<child pid>";
//   - pidfd_send_signal(pidfd, 0) succeeds;
//   - poll() on it is not readable while the child lives, and becomes
//     readable once the child exits;
//   - waitid(P_PIDFD) reaps the child with its exit code, 42.
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "prog.h"

#ifndef P_PIDFD
#define P_PIDFD 3
#endif

#define EXIT_CODE 42

static int pidfd_open(pid_t pid) { return (int)syscall(SYS_pidfd_open, pid, 0); }
static int pidfd_send_signal(int fd, int sig) { return (int)syscall(SYS_pidfd_send_signal, fd, sig, NULL, 0); }

// The pid in the pidfd's fdinfo "Pid:" line (-2 if there is none).
static long fdinfo_pid(int fd) {
  char p[64], buf[1024];
  snprintf(p, sizeof p, "/proc/self/fdinfo/%d", fd);
  int f = open(p, O_RDONLY | O_CLOEXEC);
  PROG_CHECK(f >= 0, "open %s", p);
  ssize_t n = read(f, buf, sizeof buf - 1);
  close(f);
  PROG_CHECK(n > 0, "read %s", p);
  buf[n] = 0;
  char* line = strstr(buf, "\nPid:\t");
  return line == NULL ? -2 : strtol(line + 6, NULL, 10);
}

int main(int argc, char** argv) {
  prog_init(argc, argv);
  pid_t c = prog_fork_child(0);
  if (c == 0) {
    prog_child_ready(0);
    prog_wait_go();
    prog_wait_mark("may-exit");
    _exit(EXIT_CODE);
  }
  int pfd = pidfd_open(c);
  PROG_CHECK(pfd >= 0, "pidfd_open %d", c);
  PROG_CHECK(fdinfo_pid(pfd) == c, "fdinfo Pid %ld before the dump, want %d", fdinfo_pid(pfd), c);
  prog_wait_children_ready(1);
  prog_ready();
  prog_wait_go();

  PROG_CHECK(fcntl(pfd, F_GETFD) == FD_CLOEXEC, "pidfd lost FD_CLOEXEC");
  PROG_CHECK(fdinfo_pid(pfd) == c, "fdinfo Pid %ld, want the child %d", fdinfo_pid(pfd), c);
  PROG_CHECK(pidfd_send_signal(pfd, 0) == 0, "pidfd_send_signal 0");
  struct pollfd pl = {.fd = pfd, .events = POLLIN};
  PROG_CHECK(poll(&pl, 1, 0) == 0, "pidfd readable (revents %#x) while the child lives", pl.revents);
  prog_mark("may-exit");
  PROG_CHECK(poll(&pl, 1, 10000) == 1 && (pl.revents & POLLIN), "pidfd not readable after the child exited");
  siginfo_t si;
  memset(&si, 0, sizeof si);
  PROG_CHECK(waitid(P_PIDFD, (id_t)pfd, &si, WEXITED) == 0, "waitid P_PIDFD");
  PROG_CHECK(si.si_pid == c, "waitid reaped pid %d, want %d", si.si_pid, c);
  PROG_CHECK(si.si_code == CLD_EXITED && si.si_status == EXIT_CODE, "child: code %d status %d, want exit %d",
             si.si_code, si.si_status, EXIT_CODE);
  PROG_CHECK(waitpid(-1, NULL, WNOHANG) < 0 && errno == ECHILD, "another child is left");
  prog_pass();
}
