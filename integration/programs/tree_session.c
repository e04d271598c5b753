// A second session inside the tree: child 0 calls setsid(); its first
// grandchild (child 1) stays in that session and group, the second
// (child 2) makes a group of its own inside it. After restore every
// process has the same session and group ids, the root its own.
#define _GNU_SOURCE
#include <unistd.h>

#include "prog.h"

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
    pid_t me = getpid();
    PROG_CHECK(setsid() == me, "setsid");
    pid_t g1 = prog_fork_child(1);
    if (g1 == 0) {
      prog_child_ready(1);
      check_ids(me, me);
      prog_pass();
    }
    pid_t g2 = prog_fork_child(2);
    if (g2 == 0) {
      PROG_CHECK(setpgid(0, 0) == 0, "setpgid child 2");
      prog_child_ready(2);
      check_ids(getpid(), me);
      prog_pass();
    }
    prog_child_ready(0);
    check_ids(me, me);
    PROG_CHECK(getsid(g1) == me && getsid(g2) == me, "grandchildren left the session");
    prog_check_child(g1, 1);
    prog_check_child(g2, 2);
    prog_pass();
  }

  prog_wait_children_ready(3);
  prog_ready();
  check_ids(root, root);
  PROG_CHECK(getsid(c0) == c0 && getpgid(c0) == c0, "seen from the root: child 0 sid %d pgid %d", getsid(c0),
             getpgid(c0));
  prog_check_child(c0, 0);
  prog_pass();
}
