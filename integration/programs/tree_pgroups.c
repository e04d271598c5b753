// Process groups inside the root's session: child 0 leads a new group and
// its grandchild (child 1) stays in it; child 2 joins child 0's group
// although it is not child 0's descendant. After restore every process
// still has its group and session (the root leads its own, as before).
#define _GNU_SOURCE
#include <unistd.h>

#include "prog.h"

// Waits for go and checks the calling process's group and session.
static void check_ids(pid_t pgid, pid_t sid) {
  PROG_CHECK(getpgrp() == pgid && getsid(0) == sid, "before dump: pgid %d sid %d, want %d %d", getpgrp(), getsid(0),
             pgid, sid);
  prog_wait_go();
  PROG_CHECK(getpgrp() == pgid, "pgid %d, was %d", getpgrp(), pgid);
  PROG_CHECK(getsid(0) == sid, "sid %d, was %d", getsid(0), sid);
}

int main(int argc, char** argv) {
  prog_init(argc, argv);
  pid_t root = getpid();
  PROG_CHECK(getsid(0) == root && getpgrp() == root, "the root is not a session leader");

  pid_t c0 = prog_fork_child(0);
  if (c0 == 0) {
    PROG_CHECK(setpgid(0, 0) == 0, "setpgid child 0");
    pid_t me = getpid();
    pid_t g = prog_fork_child(1);
    if (g == 0) {
      prog_child_ready(1);
      check_ids(me, root);
      prog_pass();
    }
    prog_child_ready(0);
    check_ids(me, root);
    prog_check_child(g, 1);
    prog_pass();
  }
  // Also from this side, so the group exists before child 2 joins it.
  PROG_CHECK(setpgid(c0, c0) == 0, "setpgid(child 0)");

  pid_t c2 = prog_fork_child(2);
  if (c2 == 0) {
    PROG_CHECK(setpgid(0, c0) == 0, "setpgid child 2 into child 0's group");
    prog_child_ready(2);
    check_ids(c0, root);
    prog_pass();
  }

  prog_wait_children_ready(3);
  prog_ready();
  check_ids(root, root);
  PROG_CHECK(getpgid(c0) == c0 && getpgid(c2) == c0, "seen from the root: pgids %d %d, want %d", getpgid(c0),
             getpgid(c2), c0);
  prog_check_child(c0, 0);
  prog_check_child(c2, 2);
  prog_pass();
}
