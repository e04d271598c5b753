// A session with a pty of the tree as its controlling terminal: the root
// holds the master; child 0 starts a session, opens the slave (so it
// becomes the session's terminal) and makes its group the foreground one;
// its child 1, born after, has the same terminal. After restore both can
// open /dev/tty and it is that pty, the terminal's session and foreground
// group are child 0's, and a line written on the master reaches child 1
// through /dev/tty.
#define _GNU_SOURCE
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include "prog.h"

static char slave_name[64];

// The controlling terminal (stat's tty_nr) is the pty's slave, and
// /dev/tty opens.
static void check_ctty(const char* who) {
  int t = open("/dev/tty", O_RDWR | O_CLOEXEC);
  PROG_CHECK(t >= 0, "%s: no controlling terminal", who);
  close(t);
  char buf[1024];
  int f = open("/proc/self/stat", O_RDONLY | O_CLOEXEC);
  ssize_t n = read(f, buf, sizeof buf - 1);
  close(f);
  PROG_CHECK(n > 0, "%s: read /proc/self/stat", who);
  buf[n] = 0;
  char* p = strrchr(buf, ')');
  int state_pid = 0, ppid, pgrp, sid;
  char state;
  unsigned long tty_nr = 0;
  PROG_CHECK(p && sscanf(p + 2, "%c %d %d %d %lu", &state, &ppid, &pgrp, &sid, &tty_nr) == 5, "%s: parse stat", who);
  (void)state_pid;
  struct stat b;
  PROG_CHECK(stat(slave_name, &b) == 0 && tty_nr == b.st_rdev, "%s: terminal %#lx, want %s (%#lx)", who, tty_nr,
             slave_name, (unsigned long)b.st_rdev);
}

int main(int argc, char** argv) {
  prog_init(argc, argv);
  int m = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
  PROG_CHECK(m >= 0 && grantpt(m) == 0 && unlockpt(m) == 0, "openpt");
  PROG_CHECK(ptsname_r(m, slave_name, sizeof slave_name) == 0, "ptsname");
  pid_t c0 = prog_fork_child(0);
  if (c0 == 0) {
    close(m);
    PROG_CHECK(setsid() == getpid(), "setsid");
    int s = open(slave_name, O_RDWR | O_CLOEXEC);  // no O_NOCTTY: it becomes ours
    PROG_CHECK(s >= 0, "open %s", slave_name);
    struct termios t;
    PROG_CHECK(tcgetattr(s, &t) == 0, "tcgetattr");
    t.c_lflag &= ~(tcflag_t)ECHO;
    PROG_CHECK(tcsetattr(s, TCSANOW, &t) == 0, "tcsetattr");
    PROG_CHECK(tcsetpgrp(s, getpgrp()) == 0, "tcsetpgrp");
    pid_t c1 = prog_fork_child(1);
    if (c1 == 0) {
      close(s);
      check_ctty("child 1 before");
      prog_child_ready(1);
      prog_wait_go();
      check_ctty("child 1");
      int t1 = open("/dev/tty", O_RDONLY | O_CLOEXEC);
      PROG_CHECK(t1 >= 0, "child 1: open /dev/tty");
      struct pollfd p = {.fd = t1, .events = POLLIN};
      PROG_CHECK(poll(&p, 1, 5000) == 1, "child 1: no line on /dev/tty");
      char buf[64] = {0};
      PROG_CHECK(read(t1, buf, sizeof buf - 1) > 0 && strcmp(buf, "hello\n") == 0, "child 1: read '%s'", buf);
      prog_pass();
    }
    prog_child_ready(0);
    prog_wait_go();
    check_ctty("child 0");
    PROG_CHECK(tcgetsid(s) == getpid(), "child 0: terminal session %d, want %d", tcgetsid(s), getpid());
    PROG_CHECK(tcgetpgrp(s) == getpgrp(), "child 0: foreground group %d, want %d", tcgetpgrp(s), getpgrp());
    prog_check_child(c1, 1);
    prog_pass();
  }
  prog_wait_children_ready(2);
  prog_ready();
  prog_wait_go();
  PROG_CHECK(write(m, "hello\n", 6) == 6, "write to the master");
  prog_check_child(c0, 0);
  prog_pass();
}
