// Three zombie children the root has not reaped: A exited with 7, B was
// killed by SIGTERM, C by SIGKILL (which has no action to reset). The root counts SIGCHLDs with a handler. After
// restore no new SIGCHLD arrives (restoring the zombies must not make
// one), and waitpid still reports A's exit code and B's signal.
#define _GNU_SOURCE
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include "prog.h"

static volatile sig_atomic_t chld_count;
static void on_chld(int s) { (void)s; chld_count++; }

static void wait_zombie(pid_t pid) {
  for (int i = 0; prog_proc_state(pid) != 'Z'; i++) {
    PROG_CHECK(i < 3000, "child %d never became a zombie", pid);
    usleep(5000);
  }
}

int main(int argc, char** argv) {
  prog_init(argc, argv);
  struct sigaction sa = {0};
  sa.sa_handler = on_chld;
  sa.sa_flags = SA_RESTART;
  sigemptyset(&sa.sa_mask);
  PROG_CHECK(sigaction(SIGCHLD, &sa, NULL) == 0, "sigaction");
  pid_t a = fork();
  PROG_CHECK(a >= 0, "fork A");
  if (a == 0) _exit(7);
  pid_t b = fork();
  PROG_CHECK(b >= 0, "fork B");
  if (b == 0) {
    signal(SIGCHLD, SIG_DFL);
    for (;;) pause();
  }
  PROG_CHECK(kill(b, SIGTERM) == 0, "kill B");
  pid_t c = fork();
  PROG_CHECK(c >= 0, "fork C");
  if (c == 0)
    for (;;) pause();
  PROG_CHECK(kill(c, SIGKILL) == 0, "kill C");
  wait_zombie(a);
  wait_zombie(b);
  wait_zombie(c);
  // Both SIGCHLDs were sent before the children turned Z and are handled
  // by now (they may have merged into one).
  int before = chld_count;
  PROG_CHECK(before >= 1, "no SIGCHLD at all");
  prog_ready();
  prog_wait_go();
  PROG_CHECK(chld_count == before, "%d SIGCHLD after restore (had %d)", (int)chld_count, before);
  PROG_CHECK(prog_proc_state(a) == 'Z' && prog_proc_state(b) == 'Z' && prog_proc_state(c) == 'Z',
             "children are no longer zombies: %c %c %c", prog_proc_state(a), prog_proc_state(b), prog_proc_state(c));
  int st;
  PROG_CHECK(waitpid(a, &st, WNOHANG) == a, "waitpid A");
  PROG_CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 7, "A: status %#x, want exit 7", st);
  PROG_CHECK(waitpid(b, &st, WNOHANG) == b, "waitpid B");
  PROG_CHECK(WIFSIGNALED(st) && WTERMSIG(st) == SIGTERM, "B: status %#x, want SIGTERM", st);
  PROG_CHECK(waitpid(c, &st, WNOHANG) == c, "waitpid C");
  PROG_CHECK(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL, "C: status %#x, want SIGKILL", st);
  PROG_CHECK(chld_count == before, "reaping raised SIGCHLD");
  prog_pass();
}
