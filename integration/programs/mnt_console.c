// A runtime's console inside the container: a pty of the container's
// devpts whose slave is bound over a file (as runc binds it at
// /dev/console), held open through that bind, with unread output on the
// master. After restore the bind still shows that pty's slave, the
// master still has its bytes, and data flows both ways.
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <termios.h>
#include <unistd.h>

#include "mnt.h"
#include "prog.h"

int main(int argc, char** argv) {
  prog_init(argc, argv);
  mnt_require_container();
  int m = open("/dev/ptmx", O_RDWR | O_NOCTTY);
  PROG_CHECK(m >= 0 && unlockpt(m) == 0, "ptmx");
  char name[64];
  PROG_CHECK(ptsname_r(m, name, sizeof name) == 0, "ptsname");
  mnt_write("/run/cryo-console", "");
  mnt_mount(name, "/run/cryo-console", NULL, MS_BIND, NULL);
  int s = open("/run/cryo-console", O_RDWR | O_NOCTTY);
  PROG_CHECK(s >= 0, "open the console bind");
  struct termios t;
  PROG_CHECK(tcgetattr(s, &t) == 0, "tcgetattr");
  cfmakeraw(&t);
  PROG_CHECK(tcsetattr(s, TCSANOW, &t) == 0, "tcsetattr");
  PROG_CHECK(write(s, "before", 6) == 6, "write the console");
  struct stat before;
  PROG_CHECK(fstat(s, &before) == 0, "fstat");
  prog_ready();
  prog_wait_go();
  struct stat now, bind;
  PROG_CHECK(fstat(s, &now) == 0 && stat("/run/cryo-console", &bind) == 0, "stat");
  PROG_CHECK(now.st_rdev == before.st_rdev && bind.st_rdev == before.st_rdev, "the console is another pty now");
  char buf[16] = "";
  PROG_CHECK(read(m, buf, 6) == 6 && memcmp(buf, "before", 6) == 0, "unread output: '%s'", buf);
  PROG_CHECK(write(m, "in", 2) == 2 && read(s, buf, 2) == 2 && memcmp(buf, "in", 2) == 0, "input");
  PROG_CHECK(write(s, "out", 3) == 3 && read(m, buf, 3) == 3 && memcmp(buf, "out", 3) == 0, "output");
  prog_pass();
}
