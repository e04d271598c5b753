// ptyhold OUT PIDFILE PROG ARGS...: runs PROG in a new session whose
// controlling terminal is a fresh pty (stdin, stdout, stderr on it), like a
// shell job, and keeps the pty's master open, copying what PROG writes to
// OUT, until ptyhold itself is killed, even after PROG is gone: a dumped
// shell job can then be restored onto the same terminal. The pid of PROG
// goes to PIDFILE.
#define _GNU_SOURCE
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

int main(int argc, char** argv) {
  if (argc < 4) {
    fprintf(stderr, "usage: ptyhold OUT PIDFILE PROG [ARGS...]\n");
    return 2;
  }
  int master = posix_openpt(O_RDWR | O_NOCTTY);
  if (master < 0 || grantpt(master) != 0 || unlockpt(master) != 0) {
    perror("ptyhold: pty");
    return 1;
  }
  const char* slave_name = ptsname(master);
  int out = open(argv[1], O_WRONLY | O_CREAT | O_APPEND, 0644);
  if (out < 0) return 1;
  pid_t pid = fork();
  if (pid == 0) {
    setsid();
    int s = open(slave_name, O_RDWR);  // session leader: it becomes the ctty
    if (s < 0) _exit(126);
    ioctl(s, TIOCSCTTY, 0);
    dup2(s, 0);
    dup2(s, 1);
    dup2(s, 2);
    syscall(SYS_close_range, 3U, ~0U, 0U);
    execv(argv[3], argv + 3);
    _exit(127);
  }
  FILE* pf = fopen(argv[2], "w");
  fprintf(pf, "%d\n", pid);
  fclose(pf);
  // The slave stays open here too, so the pty outlives PROG's death.
  int keep = open(slave_name, O_RDWR | O_NOCTTY);
  (void)keep;
  char buf[4096];
  fcntl(master, F_SETFL, O_NONBLOCK);
  for (;;) {
    // Reap PROG when it dies (a dump kills it): its pid must come free.
    while (waitpid(-1, NULL, WNOHANG) > 0) {
    }
    ssize_t n = read(master, buf, sizeof buf);
    if (n > 0) (void)!write(out, buf, (size_t)n);
    else if (n < 0) usleep(10000);
  }
}
