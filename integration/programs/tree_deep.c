// A deep tree: a chain of 12 processes, each the child of the one before
// (the root, then children 0..10). After restore each checks that its
// parent is still the one before it and that its stack data is intact;
// each reaps its own child, so a failure anywhere climbs to the root.
#define _GNU_SOURCE
#include <stdint.h>
#include <unistd.h>

#include "prog.h"

#define LEVELS 12

static void level(int depth, pid_t parent) {
  volatile uint64_t stack[256];
  for (int k = 0; k < 256; k++) stack[k] = (uint64_t)depth << 32 | (uint64_t)k;
  pid_t me = getpid(), kid = 0;
  if (depth + 1 < LEVELS) {
    kid = prog_fork_child(depth);  // level depth+1 is child depth
    if (kid == 0) {
      level(depth + 1, me);
      prog_pass();  // in a child: exit 0
    }
  }
  if (depth == 0) {
    prog_wait_children_ready(LEVELS - 1);
    prog_ready();
  } else {
    prog_child_ready(depth - 1);
  }
  prog_wait_go();
  PROG_CHECK(getpid() == me, "level %d: getpid %d, was %d", depth, getpid(), me);
  PROG_CHECK(depth == 0 || getppid() == parent, "level %d: getppid %d, want %d", depth, getppid(), parent);
  for (int k = 0; k < 256; k++)
    PROG_CHECK(stack[k] == ((uint64_t)depth << 32 | (uint64_t)k), "level %d: stack word %d", depth, k);
  if (kid != 0) prog_check_child(kid, depth);
}

int main(int argc, char** argv) {
  prog_init(argc, argv);
  level(0, getppid());
  prog_pass();
}
