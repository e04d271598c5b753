// An orphan under a child subreaper: the root sets PR_SET_CHILD_SUBREAPER,
// its child forks a grandchild and exits, so the grandchild's parent is
// now the root. After restore the grandchild's getppid() is still the
// root, its memory is intact, the root is still a subreaper and reaps it.
#define _GNU_SOURCE
#include <stdint.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <unistd.h>

#include "prog.h"

#define WORDS (16 * 1024)

int main(int argc, char** argv) {
  prog_init(argc, argv);
  pid_t root = getpid();
  PROG_CHECK(prctl(PR_SET_CHILD_SUBREAPER, 1) == 0, "PR_SET_CHILD_SUBREAPER");
  pid_t c = prog_fork_child(1);  // the one that exits: child 1
  if (c == 0) {
    pid_t g = prog_fork_child(0);  // the orphan: child 0
    if (g == 0) {
      for (int i = 0; getppid() != root; i++) {
        PROG_CHECK(i < 3000, "not reparented to the root: ppid %d", getppid());
        usleep(5000);
      }
      uint32_t* heap = malloc(WORDS * sizeof *heap);
      PROG_CHECK(heap != NULL, "malloc");
      for (int k = 0; k < WORDS; k++) heap[k] = (uint32_t)k * 40503u + 5;
      prog_child_ready(0);
      prog_wait_go();
      PROG_CHECK(getppid() == root, "getppid %d, want the root %d", getppid(), root);
      for (int k = 0; k < WORDS; k++) PROG_CHECK(heap[k] == (uint32_t)k * 40503u + 5, "heap word %d", k);
      prog_pass();
    }
    _exit(0);
  }
  prog_check_child(c, 1);
  prog_wait_children_ready(1);
  prog_ready();
  prog_wait_go();
  int on = 0;
  PROG_CHECK(prctl(PR_GET_CHILD_SUBREAPER, &on) == 0 && on == 1, "no longer a child subreaper");
  prog_check_child(-1, 0);  // the orphan is the root's only child now
  prog_pass();
}
