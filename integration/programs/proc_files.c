// Files of /proc/PID of the tree held open: the root's own status (opened
// as /proc/self/status), its child's status, and the child's /proc/PID
// directory; the child holds its parent's status too, and both share one
// open of the root's status made before the fork. After restore each
// fd reads the live file of the same process (its "Pid:" line is that
// process's pid as the tree sees it), and the directory fd reaches the
// child's files.
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "prog.h"

static long pid_in(int fd) {
  char buf[4096];
  ssize_t n = pread(fd, buf, sizeof buf - 1, 0);
  if (n <= 0) return -1;
  buf[n] = 0;
  char* p = strstr(buf, "\nPid:\t");
  return p ? strtol(p + 6, NULL, 10) : -2;
}

static int open_status(pid_t pid) {
  char path[64];
  snprintf(path, sizeof path, "/proc/%d/status", (int)pid);
  return open(path, O_RDONLY);
}

int main(int argc, char** argv) {
  prog_init(argc, argv);
  pid_t parent = getpid();
  int both = open_status(parent);
  PROG_CHECK(both >= 0, "open the root's status");
  pid_t c = prog_fork_child(0);
  if (c == 0) {
    int up = open_status(parent);
    PROG_CHECK(up >= 0, "open the parent's status");
    prog_child_ready(0);
    prog_wait_go();
    PROG_CHECK(pid_in(up) == parent, "the parent's status says pid %ld", pid_in(up));
    PROG_CHECK(pid_in(both) == parent, "the shared status says pid %ld", pid_in(both));
    prog_pass();
  }
  prog_wait_children_ready(1);
  int self = open("/proc/self/status", O_RDONLY);
  int child = open_status(c);
  char dir[64];
  snprintf(dir, sizeof dir, "/proc/%d", (int)c);
  int cdir = open(dir, O_RDONLY | O_DIRECTORY);
  PROG_CHECK(self >= 0 && child >= 0 && cdir >= 0, "open");
  prog_ready();
  prog_wait_go();
  PROG_CHECK(pid_in(self) == getpid(), "own status says pid %ld", pid_in(self));
  PROG_CHECK(pid_in(both) == getpid(), "the shared status says pid %ld", pid_in(both));
  PROG_CHECK(pid_in(child) == c, "the child's status says pid %ld", pid_in(child));
  int via = openat(cdir, "status", O_RDONLY);
  PROG_CHECK(via >= 0 && pid_in(via) == c, "status through the child's /proc dir");
  prog_check_child(c, 0);
  prog_pass();
}
