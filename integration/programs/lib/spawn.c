// spawn [-o FILE] PROG ARGS...: starts PROG detached the way a checkpoint
// harness must: a new session, stdin from /dev/null, stdout and stderr to
// FILE (default /dev/null), no fds above 2; prints its pid on stdout. The
// shell's stray fds never reach the program under test.
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

int main(int argc, char** argv) {
  const char* out = "/dev/null";
  int first = 1;
  if (argc > 2 && strcmp(argv[1], "-o") == 0) {
    out = argv[2];
    first = 3;
  }
  if (first >= argc) {
    fprintf(stderr, "usage: spawn [-o FILE] PROG [ARGS...]\n");
    return 2;
  }
  int outfd = open(out, O_WRONLY | O_CREAT | O_APPEND, 0644);
  int nullfd = open("/dev/null", O_RDONLY);
  if (outfd < 0 || nullfd < 0) {
    perror("spawn: open");
    return 1;
  }
  pid_t pid = fork();
  if (pid < 0) {
    perror("spawn: fork");
    return 1;
  }
  if (pid == 0) {
    setsid();
    dup2(nullfd, 0);
    dup2(outfd, 1);
    dup2(outfd, 2);
    syscall(SYS_close_range, 3U, ~0U, 0U);
    execv(argv[first], argv + first);
    perror("spawn: exec");
    _exit(127);
  }
  printf("%d\n", pid);
  return 0;
}
