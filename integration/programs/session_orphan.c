// Sessions whose leader lives in the tree but is not the parent's session.
// Child 1 (L) calls setsid(), then forks B (child 2), which forks C
// (child 3) and only then calls setsid(): C stays in L's session under a
// parent of another session. L also forks a helper that forks O (child 0)
// and exits: O, reparented to the root (a child subreaper), is in L's
// session under a parent of another session; L then becomes a child
// subreaper itself, which must not take O on restore. After restore
// every process checks its own sid, pgid and parent, L that it is still
// a subreaper, and the root that its children are L and O.
#define _GNU_SOURCE
#include <stdio.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "prog.h"

static void check_ids(pid_t sid, pid_t pgid, pid_t parent, const char* who) {
  PROG_CHECK(getsid(0) == sid, "%s: sid %d, want %d", who, getsid(0), sid);
  PROG_CHECK(getpgrp() == pgid, "%s: pgid %d, want %d", who, getpgrp(), pgid);
  PROG_CHECK(getppid() == parent, "%s: ppid %d, want %d", who, getppid(), parent);
}

// The root's children, from /proc.
static int children(pid_t root, pid_t* out, int max) {
  char path[64];
  snprintf(path, sizeof path, "/proc/%d/task/%d/children", root, root);
  FILE* f = fopen(path, "re");
  PROG_CHECK(f != NULL, "open %s", path);
  int n = 0;
  while (n < max && fscanf(f, "%d", &out[n]) == 1) n++;
  fclose(f);
  return n;
}

// B: forks C in L's session, then leads a session of its own.
static void late_leader(pid_t l) {
  pid_t b = getpid();
  pid_t c = prog_fork_child(3);
  if (c == 0) {
    prog_child_ready(3);
    prog_wait_go();
    check_ids(l, l, b, "C (born before its parent's setsid)");
    prog_pass();
  }
  PROG_CHECK(setsid() == b, "setsid in B");
  prog_child_ready(2);
  prog_wait_go();
  check_ids(b, b, l, "B (setsid after forking C)");
  prog_check_child(c, 3);
  prog_pass();
}

static void leader(pid_t root) {
  pid_t l = getpid();
  PROG_CHECK(setsid() == l, "setsid in L");
  pid_t h = fork();
  PROG_CHECK(h >= 0, "fork helper");
  if (h == 0) {
    pid_t o = prog_fork_child(0);
    if (o == 0) {
      for (int i = 0; getppid() != root; i++) {
        PROG_CHECK(i < 3000, "O not reparented to the root: ppid %d", getppid());
        usleep(5000);
      }
      prog_child_ready(0);
      prog_wait_go();
      check_ids(l, l, root, "O (orphan of L's session)");
      prog_wait_mark("root-checked");
      prog_pass();
    }
    _exit(0);
  }
  int st;
  PROG_CHECK(waitpid(h, &st, 0) == h && st == 0, "helper");
  PROG_CHECK(prctl(PR_SET_CHILD_SUBREAPER, 1) == 0, "PR_SET_CHILD_SUBREAPER in L");
  pid_t b = prog_fork_child(2);
  if (b == 0) late_leader(l);
  prog_child_ready(1);
  prog_wait_go();
  check_ids(l, l, root, "L");
  int sub = 0;
  PROG_CHECK(prctl(PR_GET_CHILD_SUBREAPER, &sub) == 0 && sub == 1, "L is no longer a subreaper (%d)", sub);
  prog_check_child(b, 2);
  prog_wait_mark("root-checked");
  prog_pass();
}

int main(int argc, char** argv) {
  prog_init(argc, argv);
  pid_t root = getpid();
  PROG_CHECK(prctl(PR_SET_CHILD_SUBREAPER, 1) == 0, "PR_SET_CHILD_SUBREAPER");
  pid_t l = prog_fork_child(1);
  if (l == 0) leader(root);
  prog_wait_children_ready(4);
  prog_ready();
  prog_wait_go();
  pid_t kids[8];
  int n = children(root, kids, 8);
  PROG_CHECK(n == 2, "the root has %d children, want L and O", n);
  pid_t o = kids[0] == l ? kids[1] : kids[0];
  PROG_CHECK(kids[0] == l || kids[1] == l, "L (%d) is not the root's child", l);
  PROG_CHECK(getsid(o) == l && getsid(l) == l, "seen from the root: O sid %d, L sid %d, want %d", getsid(o), getsid(l), l);
  prog_mark("root-checked");
  prog_check_child(l, 1);
  prog_check_child(o, 0);
  prog_pass();
}
