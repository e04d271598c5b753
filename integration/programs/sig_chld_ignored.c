// SIGCHLD ignored (children are reaped by the kernel) and SIGPIPE ignored,
// SIGINT with SA_RESETHAND: the dispositions, and what they mean, hold
// after restore.
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include "prog.h"

static volatile int hits;
static void on_int(int s) { (void)s; hits++; }

int main(int argc, char** argv) {
  prog_init(argc, argv);
  signal(SIGCHLD, SIG_IGN);
  signal(SIGPIPE, SIG_IGN);
  struct sigaction sa = {0};
  sa.sa_handler = on_int;
  sa.sa_flags = SA_RESETHAND;
  sigaction(SIGINT, &sa, NULL);
  prog_ready();
  prog_wait_go();
  pid_t c = fork();
  if (c == 0) _exit(3);
  PROG_CHECK(c > 0, "fork");
  int st;
  PROG_CHECK(waitpid(c, &st, 0) < 0 && errno == ECHILD, "SIGCHLD no longer ignored: child left to reap");
  raise(SIGINT);
  struct sigaction now;
  sigaction(SIGINT, NULL, &now);
  PROG_CHECK(hits == 1 && now.sa_handler == SIG_DFL, "SA_RESETHAND lost");
  PROG_CHECK(raise(SIGPIPE) == 0, "SIGPIPE");
  prog_pass();
}
