// The cwd is /proc/PID of a child that has since been killed and reaped
// (the directory is unhashed: getcwd fails with ENOENT). After restore the
// cwd is such a directory again: getcwd fails with ENOENT, and
// /proc/self/cwd reads the same text as before ("/proc/PID (deleted)"),
// so the pid is the same.
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "prog.h"

int main(int argc, char** argv) {
  prog_init(argc, argv);
  pid_t c = fork();
  PROG_CHECK(c >= 0, "fork");
  if (c == 0) {
    pause();
    _exit(0);
  }
  char dir[64], before[256] = {0}, after[256] = {0}, buf[256];
  snprintf(dir, sizeof dir, "/proc/%d", (int)c);
  // The harness's files are found by absolute paths (prog_init).
  PROG_CHECK(chdir(dir) == 0, "chdir %s", dir);
  PROG_CHECK(kill(c, SIGKILL) == 0 && waitpid(c, NULL, 0) == c, "kill the child");
  PROG_CHECK(getcwd(buf, sizeof buf) == NULL && errno == ENOENT, "getcwd before the dump");
  PROG_CHECK(readlink("/proc/self/cwd", before, sizeof before - 1) > 0, "readlink");
  prog_ready();
  prog_wait_go();
  PROG_CHECK(getcwd(buf, sizeof buf) == NULL && errno == ENOENT, "getcwd after restore: %s",
             getcwd(buf, sizeof buf) ? buf : strerror(errno));
  PROG_CHECK(readlink("/proc/self/cwd", after, sizeof after - 1) > 0, "readlink");
  PROG_CHECK(strcmp(before, after) == 0, "cwd was %s, is %s", before, after);
  prog_pass();
}
