// The audit login uid of each process: the root sets its own to 3, its
// child (forked after, so it inherited 3) sets its own to 1000. After
// restore /proc/self/loginuid reads 3 and 1000, and the child's is still
// its own to change.
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "prog.h"

static unsigned read_loginuid(void) {
  char buf[16] = {0};
  int fd = open("/proc/self/loginuid", O_RDONLY);
  PROG_CHECK(fd >= 0, "open loginuid");
  PROG_CHECK(read(fd, buf, sizeof buf - 1) > 0, "read loginuid");
  close(fd);
  return (unsigned)strtoul(buf, NULL, 10);
}

static void set_loginuid(unsigned v) {
  char buf[16];
  int n = snprintf(buf, sizeof buf, "%u", v);
  int fd = open("/proc/self/loginuid", O_WRONLY);
  PROG_CHECK(fd >= 0, "open loginuid for writing");
  PROG_CHECK(write(fd, buf, (size_t)n) == n, "write loginuid %u", v);
  close(fd);
}

int main(int argc, char** argv) {
  prog_init(argc, argv);
  set_loginuid(3);
  pid_t c = prog_fork_child(0);
  if (c == 0) {
    PROG_CHECK(read_loginuid() == 3, "child did not inherit loginuid 3");
    set_loginuid(1000);
    prog_child_ready(0);
    prog_wait_go();
    unsigned now = read_loginuid();
    PROG_CHECK(now == 1000, "child: loginuid %u, want 1000", now);
    prog_pass();
  }
  prog_wait_children_ready(1);
  prog_ready();
  prog_wait_go();
  unsigned now = read_loginuid();
  PROG_CHECK(now == 3, "root: loginuid %u, want 3", now);
  prog_check_child(c, 0);
  prog_pass();
}
