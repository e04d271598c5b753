// A session whose leader is dead: the root is a child subreaper; child 1
// calls setsid() (leading a new session and group), forks child 0 and
// exits, and the root reaps it. Child 0, reparented to the root, lives on
// in a session and group whose leader's pid no process has. After restore
// child 0's getsid(0) and getpgrp() are still the dead child's pid and its
// parent is the root; the root sees the same from outside, no process has
// the dead pid, and child 0 is the root's only child.
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "prog.h"

// The session and group ids of the calling process are both `dead`.
static void check_ids(pid_t dead, const char* when) {
  PROG_CHECK(getsid(0) == dead, "%s: sid %d, want the dead leader %d", when, getsid(0), dead);
  PROG_CHECK(getpgrp() == dead, "%s: pgid %d, want the dead leader %d", when, getpgrp(), dead);
}

// The root's one child, from /proc (the grandchild was forked by child 1).
static pid_t only_child(pid_t root) {
  char path[64];
  snprintf(path, sizeof path, "/proc/%d/task/%d/children", root, root);
  FILE* f = fopen(path, "re");
  PROG_CHECK(f != NULL, "open %s", path);
  int a = 0, b = 0;
  int n = fscanf(f, "%d %d", &a, &b);
  fclose(f);
  PROG_CHECK(n == 1, "the root has %d children, want 1 (%d %d ...)", n < 0 ? 0 : n, a, b);
  return a;
}

int main(int argc, char** argv) {
  prog_init(argc, argv);
  pid_t root = getpid();
  PROG_CHECK(prctl(PR_SET_CHILD_SUBREAPER, 1) == 0, "PR_SET_CHILD_SUBREAPER");
  pid_t leader = prog_fork_child(1);  // the one that exits
  if (leader == 0) {
    pid_t me = getpid();
    PROG_CHECK(setsid() == me, "setsid");
    pid_t g = prog_fork_child(0);
    if (g == 0) {
      for (int i = 0; getppid() != root; i++) {
        PROG_CHECK(i < 3000, "not reparented to the root: ppid %d", getppid());
        usleep(5000);
      }
      check_ids(me, "before the dump");
      prog_child_ready(0);
      prog_wait_go();
      check_ids(me, "after go");
      PROG_CHECK(getppid() == root, "getppid %d, want the root %d", getppid(), root);
      prog_wait_mark("root-checked");  // alive while the root looks at it
      prog_pass();
    }
    _exit(0);
  }
  prog_check_child(leader, 1);
  prog_wait_children_ready(1);
  prog_ready();
  prog_wait_go();
  PROG_CHECK(getsid(0) == root && getpgrp() == root, "the root's sid %d pgid %d, want its own", getsid(0), getpgrp());
  errno = 0;
  PROG_CHECK(kill(leader, 0) < 0 && errno == ESRCH, "pid %d of the dead leader is in use", leader);
  pid_t g = only_child(root);
  PROG_CHECK(getsid(g) == leader && getpgid(g) == leader,
             "seen from the root: child 0 (pid %d) sid %d pgid %d, want %d", g, getsid(g), getpgid(g), leader);
  prog_mark("root-checked");
  prog_check_child(g, 0);
  errno = 0;
  PROG_CHECK(waitpid(-1, NULL, WNOHANG) < 0 && errno == ECHILD, "the root has another child");
  prog_pass();
}
