// A child with SIGUSR1 and SIGUSR2 blocked reads them through a signalfd;
// at dump time the root has already sent it SIGUSR1 (pending in the
// child). After restore the child's signalfd gives SIGUSR1 with the root as
// sender, then a SIGUSR2 the root sends after go, then nothing.
#define _GNU_SOURCE
#include <poll.h>
#include <signal.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include "prog.h"

static void expect(int sfd, int sig, pid_t from, const char* what) {
  struct pollfd p = {.fd = sfd, .events = POLLIN};
  PROG_CHECK(poll(&p, 1, 5000) == 1, "child: %s: nothing on the signalfd", what);
  struct signalfd_siginfo si;
  PROG_CHECK(read(sfd, &si, sizeof si) == sizeof si, "child: %s: read", what);
  PROG_CHECK((int)si.ssi_signo == sig && (pid_t)si.ssi_pid == from, "child: %s: signal %u from %u, want %d from %d", what,
             si.ssi_signo, si.ssi_pid, sig, from);
}

int main(int argc, char** argv) {
  prog_init(argc, argv);
  pid_t root = getpid();
  pid_t c = prog_fork_child(0);
  if (c == 0) {
    sigset_t m;
    sigemptyset(&m);
    sigaddset(&m, SIGUSR1);
    sigaddset(&m, SIGUSR2);
    PROG_CHECK(sigprocmask(SIG_BLOCK, &m, NULL) == 0, "sigprocmask");
    int sfd = signalfd(-1, &m, SFD_NONBLOCK | SFD_CLOEXEC);
    PROG_CHECK(sfd >= 0, "signalfd");
    prog_mark("blocked");
    prog_wait_mark("sent");
    sigset_t pend;
    PROG_CHECK(sigpending(&pend) == 0 && sigismember(&pend, SIGUSR1), "child: SIGUSR1 is not pending before the dump");
    prog_child_ready(0);
    prog_wait_go();
    expect(sfd, SIGUSR1, root, "the signal pending at dump time");
    prog_mark("read-1");
    expect(sfd, SIGUSR2, root, "the signal sent after go");
    struct signalfd_siginfo si;
    PROG_CHECK(read(sfd, &si, sizeof si) < 0, "child: a signal %u more than sent", si.ssi_signo);
    prog_pass();
  }
  prog_wait_mark("blocked");
  PROG_CHECK(kill(c, SIGUSR1) == 0, "kill SIGUSR1");
  prog_mark("sent");
  prog_wait_children_ready(1);
  prog_ready();
  prog_wait_go();
  prog_wait_mark("read-1");
  PROG_CHECK(kill(c, SIGUSR2) == 0, "kill SIGUSR2");
  prog_check_child(c, 0);
  prog_pass();
}
