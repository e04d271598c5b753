// Slaves of a pty whose master was closed: the pty hung up, its
// /dev/pts node is gone. Two slave fds stay open (one had been the
// session's controlling terminal). After restore both are still hung up:
// read gives end of file, write fails with EIO, the link says
// "(deleted)", and the fds are on a pts device.
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "prog.h"

static void check_hung(int fd, const char* what) {
  char buf[8];
  PROG_CHECK(read(fd, buf, sizeof buf) == 0, "%s: read did not give end of file", what);
  errno = 0;
  PROG_CHECK(write(fd, "x", 1) == -1 && errno == EIO, "%s: write did not fail with EIO", what);
  char link[64], target[256];
  snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
  ssize_t n = readlink(link, target, sizeof target - 1);
  PROG_CHECK(n > 0, "%s: readlink", what);
  target[n] = 0;
  PROG_CHECK(strstr(target, "/dev/pts/") && strstr(target, "(deleted)"), "%s: link %s", what, target);
  struct stat st;
  PROG_CHECK(fstat(fd, &st) == 0 && S_ISCHR(st.st_mode) && major(st.st_rdev) >= 136 && major(st.st_rdev) <= 143,
             "%s: not a pts device", what);
}

int main(int argc, char** argv) {
  prog_init(argc, argv);
  signal(SIGHUP, SIG_IGN);
  int m = posix_openpt(O_RDWR | O_NOCTTY);
  PROG_CHECK(m >= 0 && grantpt(m) == 0 && unlockpt(m) == 0, "posix_openpt");
  char name[64];
  PROG_CHECK(ptsname_r(m, name, sizeof name) == 0, "ptsname");
  int s1 = open(name, O_RDWR | O_NOCTTY), s2 = open(name, O_RDONLY | O_NOCTTY);
  PROG_CHECK(s1 >= 0 && s2 >= 0, "open slaves");
  if (getsid(0) == getpid()) PROG_CHECK(ioctl(s1, TIOCSCTTY, 1) == 0, "TIOCSCTTY");
  close(m);
  check_hung(s1, "slave 1 before");
  prog_ready();
  prog_wait_go();
  check_hung(s1, "slave 1");
  char buf[8];
  PROG_CHECK(read(s2, buf, sizeof buf) == 0, "slave 2: read did not give end of file");
  int fl = fcntl(s2, F_GETFL);
  PROG_CHECK((fl & O_ACCMODE) == O_RDONLY, "slave 2: flags %#x", fl);
  prog_pass();
}
