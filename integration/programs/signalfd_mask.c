// A signalfd for SIGUSR1|SIGUSR2 (both blocked), with one SIGUSR1 pending
// at dump time. After restore the SIGUSR1 is read from the signalfd, the
// fd's mask (fdinfo "sigmask:") and the blocked mask are the same, and a
// new SIGUSR2 arrives through it.
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include "prog.h"

// The signalfd's mask as fdinfo shows it (hex, bit N-1 for signal N).
static unsigned long long fdinfo_sigmask(int fd) {
  char p[64], buf[1024];
  snprintf(p, sizeof p, "/proc/self/fdinfo/%d", fd);
  int f = open(p, O_RDONLY);
  PROG_CHECK(f >= 0, "open %s", p);
  ssize_t n = read(f, buf, sizeof buf - 1);
  close(f);
  PROG_CHECK(n > 0, "read %s", p);
  buf[n] = 0;
  char* line = strstr(buf, "sigmask:");
  PROG_CHECK(line != NULL, "no sigmask line in fdinfo");
  return strtoull(line + strlen("sigmask:"), NULL, 16);
}

static void read_sig(int sfd, int want) {
  struct signalfd_siginfo si;
  PROG_CHECK(read(sfd, &si, sizeof si) == sizeof si, "read signalfd (want signal %d)", want);
  PROG_CHECK((int)si.ssi_signo == want, "signal %u, want %d", si.ssi_signo, want);
  PROG_CHECK(si.ssi_pid == (unsigned)getpid() && si.ssi_code == SI_USER, "sender %u code %d", si.ssi_pid, si.ssi_code);
}

int main(int argc, char** argv) {
  prog_init(argc, argv);
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGUSR1);
  sigaddset(&set, SIGUSR2);
  PROG_CHECK(sigprocmask(SIG_BLOCK, &set, NULL) == 0, "sigprocmask");
  int sfd = signalfd(-1, &set, SFD_NONBLOCK);
  PROG_CHECK(sfd >= 0, "signalfd");
  PROG_CHECK(kill(getpid(), SIGUSR1) == 0, "kill SIGUSR1");
  unsigned long long want = 1ull << (SIGUSR1 - 1) | 1ull << (SIGUSR2 - 1);
  PROG_CHECK(fdinfo_sigmask(sfd) == want, "fdinfo sigmask %llx before dump, want %llx", fdinfo_sigmask(sfd), want);
  prog_ready();
  prog_wait_go();
  PROG_CHECK(fdinfo_sigmask(sfd) == want, "fdinfo sigmask %llx, want %llx", fdinfo_sigmask(sfd), want);
  sigset_t now;
  PROG_CHECK(sigprocmask(SIG_BLOCK, NULL, &now) == 0, "sigprocmask");
  PROG_CHECK(sigismember(&now, SIGUSR1) && sigismember(&now, SIGUSR2), "SIGUSR1/2 no longer blocked");
  PROG_CHECK(fcntl(sfd, F_GETFL) & O_NONBLOCK, "signalfd lost O_NONBLOCK");
  read_sig(sfd, SIGUSR1);
  struct signalfd_siginfo si;
  PROG_CHECK(read(sfd, &si, sizeof si) < 0 && errno == EAGAIN, "a second signal was pending: %u", si.ssi_signo);
  PROG_CHECK(kill(getpid(), SIGUSR2) == 0, "kill SIGUSR2");
  read_sig(sfd, SIGUSR2);
  prog_pass();
}
