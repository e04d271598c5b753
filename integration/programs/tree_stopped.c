// A child stopped by SIGSTOP at dump time (its parent has already seen
// the stop with WUNTRACED). After restore it is still stopped ('T'); the
// root sends SIGCONT, and the child goes on, checks its memory, exits 0.
// The child is a stopped job in a process group of its own, as under a
// shell: should the root die early, the kernel SIGHUPs the orphaned group
// instead of leaving a stopped process behind.
#define _GNU_SOURCE
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include "prog.h"

#define WORDS (16 * 1024)

int main(int argc, char** argv) {
  prog_init(argc, argv);
  pid_t c = prog_fork_child(0);
  if (c == 0) {
    PROG_CHECK(setpgid(0, 0) == 0, "setpgid");
    uint32_t* heap = malloc(WORDS * sizeof *heap);
    PROG_CHECK(heap != NULL, "malloc");
    for (int k = 0; k < WORDS; k++) heap[k] = (uint32_t)k * 2654435761u + 17;
    pid_t me = getpid();
    prog_child_ready(0);
    raise(SIGSTOP);
    prog_wait_go();
    PROG_CHECK(getpid() == me, "getpid");
    for (int k = 0; k < WORDS; k++) PROG_CHECK(heap[k] == (uint32_t)k * 2654435761u + 17, "heap word %d", k);
    prog_pass();
  }
  setpgid(c, c);
  int st;
  PROG_CHECK(waitpid(c, &st, WUNTRACED) == c, "waitpid WUNTRACED");
  PROG_CHECK(WIFSTOPPED(st) && WSTOPSIG(st) == SIGSTOP, "child did not stop: status %#x", st);
  prog_wait_children_ready(1);
  prog_ready();
  prog_wait_go();
  char s = prog_proc_state(c);
  PROG_CHECK(kill(c, SIGCONT) == 0, "SIGCONT");  // first, so a failure leaves no stopped child
  PROG_CHECK(s == 'T', "child state '%c', want stopped 'T'", s ? s : '?');
  PROG_CHECK(getpgid(c) == c, "child's group %d, want its own", getpgid(c));
  prog_check_child(c, 0);
  prog_pass();
}
