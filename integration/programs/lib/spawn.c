// spawn PROG ARGS...: starts PROG detached the way a checkpoint harness
// must: a new session, no fds above 2, and prints its pid. The shell's
// stray fds never reach the program under test.
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <unistd.h>

int main(int argc, char** argv) {
  if (argc < 2) {
    fprintf(stderr, "usage: spawn PROG [ARGS...]\n");
    return 2;
  }
  pid_t pid = fork();
  if (pid < 0) {
    perror("spawn: fork");
    return 1;
  }
  if (pid == 0) {
    setsid();
    syscall(SYS_close_range, 3U, ~0U, 0U);
    execv(argv[1], argv + 1);
    perror("spawn: exec");
    _exit(127);
  }
  printf("%d\n", pid);
  return 0;
}
