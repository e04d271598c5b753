// A process group whose leader is dead: the root is a child subreaper;
// child 2 calls setpgid(0, 0), forks children 0 and 1 (which stay in its
// group) and exits; the root reaps it. Children 0 and 1, reparented to
// the root, live on in a group whose leader's pid no process has, in the
// root's session. After restore both see getpgrp() == the dead child's
// pid, getsid(0) == the root, their parent is the root, and
// kill(-pgid, 0) works; the root sees both in that group, and no process
// has the dead pid.
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "prog.h"

static void check_ids(pid_t dead, pid_t root, const char* when) {
  PROG_CHECK(getpgrp() == dead, "%s: pgid %d, want the dead leader %d", when, getpgrp(), dead);
  PROG_CHECK(getsid(0) == root, "%s: sid %d, want the root's %d", when, getsid(0), root);
  PROG_CHECK(kill(-dead, 0) == 0, "%s: kill(-%d, 0)", when, dead);
}

// The root's two children, from /proc (they were forked by child 2).
static void two_children(pid_t root, pid_t* a, pid_t* b) {
  char path[64];
  snprintf(path, sizeof path, "/proc/%d/task/%d/children", root, root);
  FILE* f = fopen(path, "re");
  PROG_CHECK(f != NULL, "open %s", path);
  int c = 0;
  int n = fscanf(f, "%d %d %d", a, b, &c);
  fclose(f);
  PROG_CHECK(n == 2, "the root has %d children, want 2", n < 0 ? 0 : n);
}

int main(int argc, char** argv) {
  prog_init(argc, argv);
  pid_t root = getpid();
  PROG_CHECK(prctl(PR_SET_CHILD_SUBREAPER, 1) == 0, "PR_SET_CHILD_SUBREAPER");
  pid_t leader = prog_fork_child(2);  // the one that exits
  if (leader == 0) {
    pid_t me = getpid();
    PROG_CHECK(setpgid(0, 0) == 0, "setpgid");
    for (int n = 0; n < 2; n++) {
      pid_t g = prog_fork_child(n);
      if (g == 0) {
        for (int i = 0; getppid() != root; i++) {
          PROG_CHECK(i < 3000, "not reparented to the root: ppid %d", getppid());
          usleep(5000);
        }
        check_ids(me, root, "before the dump");
        prog_child_ready(n);
        prog_wait_go();
        check_ids(me, root, "after go");
        PROG_CHECK(getppid() == root, "getppid %d, want the root %d", getppid(), root);
        prog_wait_mark("root-checked");  // alive while the root looks at it
        prog_pass();
      }
    }
    _exit(0);
  }
  prog_check_child(leader, 2);
  prog_wait_children_ready(2);
  prog_ready();
  prog_wait_go();
  PROG_CHECK(getsid(0) == root && getpgrp() == root, "the root's sid %d pgid %d, want its own", getsid(0), getpgrp());
  errno = 0;
  PROG_CHECK(kill(leader, 0) < 0 && errno == ESRCH, "pid %d of the dead leader is in use", leader);
  PROG_CHECK(kill(-leader, 0) == 0, "root: kill(-%d, 0)", leader);
  pid_t a, b;
  two_children(root, &a, &b);
  PROG_CHECK(getpgid(a) == leader && getpgid(b) == leader, "seen from the root: groups %d and %d, want %d", getpgid(a),
             getpgid(b), leader);
  prog_mark("root-checked");
  // Child 0 was forked first: the lower pid (pids do not wrap in a run).
  prog_check_child(a < b ? a : b, 0);
  prog_check_child(a < b ? b : a, 1);
  errno = 0;
  PROG_CHECK(waitpid(-1, NULL, WNOHANG) < 0 && errno == ECHILD, "the root has another child");
  prog_pass();
}
