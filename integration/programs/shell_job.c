// A shell job: stdin, stdout and stderr on a terminal held outside (the
// suite runs this under ptyhold and dumps it with --shell-job, per the
// .flags sidecar). After restore the same terminal is on fds 0-2 and is
// again the controlling terminal, with this group in the foreground.
#define _GNU_SOURCE
#include <stdio.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include "prog.h"

int main(int argc, char** argv) {
  prog_init(argc, argv);
  if (!isatty(0)) {
    // Run outside ptyhold (no terminal): nothing to check, say so.
    prog_ready();
    prog_wait_go();
    prog_fail("not started on a terminal (run it under ptyhold)");
  }
  char before[64];
  strncpy(before, ttyname(0), sizeof before - 1);
  struct termios t0;
  PROG_CHECK(tcgetattr(0, &t0) == 0, "tcgetattr");
  printf("started on %s\n", before);
  prog_ready();
  prog_wait_go();
  for (int fd = 0; fd < 3; fd++) PROG_CHECK(isatty(fd) && strcmp(ttyname(fd), before) == 0, "fd %d not on %s", fd, before);
  PROG_CHECK(tcgetpgrp(0) == getpgrp(), "not the foreground group of its terminal (%d vs %d)", tcgetpgrp(0), getpgrp());
  PROG_CHECK(getsid(0) == getpid(), "not the session leader");
  printf("restored on %s\n", ttyname(1));
  prog_pass();
}
