// /dev/tty opened by a session leader whose controlling terminal is a
// pty of the tree (the root holds the master). After restore that fd is
// still /dev/tty (5:0) and still reaches the same terminal: what the
// child writes to it, the master reads, and what the master writes, the
// child reads from it.
#define _GNU_SOURCE
#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <termios.h>
#include <unistd.h>

#include "prog.h"

static void read_exact(int fd, char* buf, size_t len, const char* what) {
  size_t got = 0;
  while (got < len) {
    struct pollfd p = {.fd = fd, .events = POLLIN};
    PROG_CHECK(poll(&p, 1, 5000) == 1, "%s: %zu of %zu bytes", what, got, len);
    ssize_t n = read(fd, buf + got, len - got);
    PROG_CHECK(n > 0, "%s: read", what);
    got += (size_t)n;
  }
}

int main(int argc, char** argv) {
  prog_init(argc, argv);
  int m = posix_openpt(O_RDWR | O_NOCTTY);
  PROG_CHECK(m >= 0 && grantpt(m) == 0 && unlockpt(m) == 0, "posix_openpt");
  char name[64];
  PROG_CHECK(ptsname_r(m, name, sizeof name) == 0, "ptsname");
  pid_t c = prog_fork_child(0);
  if (c == 0) {
    close(m);
    PROG_CHECK(setsid() == getpid(), "setsid");
    int s = open(name, O_RDWR);  // becomes the controlling terminal
    PROG_CHECK(s >= 0, "open %s", name);
    struct termios t;
    PROG_CHECK(tcgetattr(s, &t) == 0, "tcgetattr");
    cfmakeraw(&t);
    PROG_CHECK(tcsetattr(s, TCSANOW, &t) == 0, "raw");
    int tty = open("/dev/tty", O_RDWR);
    PROG_CHECK(tty >= 0, "open /dev/tty");
    close(s);
    prog_child_ready(0);
    prog_wait_go();
    struct stat st;
    PROG_CHECK(fstat(tty, &st) == 0 && st.st_rdev == makedev(5, 0), "fd is no longer /dev/tty");
    PROG_CHECK(write(tty, "child", 5) == 5, "write /dev/tty");
    char buf[8] = {0};
    read_exact(tty, buf, 6, "child reads /dev/tty");
    PROG_CHECK(memcmp(buf, "master", 6) == 0, "child read %.6s", buf);
    prog_pass();
  }
  prog_wait_children_ready(1);
  prog_ready();
  prog_wait_go();
  char buf[8] = {0};
  read_exact(m, buf, 5, "master reads");
  PROG_CHECK(memcmp(buf, "child", 5) == 0, "master read %.5s", buf);
  PROG_CHECK(write(m, "master", 6) == 6, "write master");
  prog_check_child(c, 0);
  prog_pass();
}
