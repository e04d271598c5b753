// reaper CMD ARGS...: runs CMD as a child subreaper. Processes that tests
// start detached (and restored ones, whose restorer exits) are orphaned to
// the reaper instead of a pid 1 that may never reap them, so their pids
// come free as soon as they die. Exits with CMD's status.
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

int main(int argc, char** argv) {
  if (argc < 2) {
    fprintf(stderr, "usage: reaper CMD [ARGS...]\n");
    return 2;
  }
  if (prctl(PR_SET_CHILD_SUBREAPER, 1) != 0) {
    perror("reaper: PR_SET_CHILD_SUBREAPER");
    return 1;
  }
  pid_t cmd = fork();
  if (cmd < 0) {
    perror("reaper: fork");
    return 1;
  }
  if (cmd == 0) {
    execvp(argv[1], argv + 1);
    perror("reaper: exec");
    _exit(127);
  }
  int result = 1;
  for (;;) {
    int status;
    pid_t p = wait(&status);
    if (p < 0) {
      if (errno == EINTR) continue;
      break;  // ECHILD: everyone is gone
    }
    if (p == cmd) result = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  }
  return result;
}
