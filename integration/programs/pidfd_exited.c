// Pidfds of processes that had exited (and were reaped) before the dump:
// two pidfds of one child, one of another (opened O_NONBLOCK). After
// restore all three still say the process is gone (fdinfo "Pid: -1",
// poll readable, signals refused with ESRCH), the two of one child share
// an inode and the other's differs, and the flags are as they were.
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "prog.h"

#ifndef PIDFD_NONBLOCK
#define PIDFD_NONBLOCK O_NONBLOCK
#endif

static int pidfd_open(pid_t pid, unsigned flags) { return (int)syscall(SYS_pidfd_open, pid, flags); }

static long fdinfo_pid(int fd) {
  char p[64], buf[1024];
  snprintf(p, sizeof p, "/proc/self/fdinfo/%d", fd);
  int f = open(p, O_RDONLY | O_CLOEXEC);
  PROG_CHECK(f >= 0, "open %s", p);
  ssize_t n = read(f, buf, sizeof buf - 1);
  close(f);
  PROG_CHECK(n > 0, "read %s", p);
  buf[n] = 0;
  char* line = strstr(buf, "\nPid:\t");
  return line == NULL ? -2 : strtol(line + 6, NULL, 10);
}

static void check_gone(int fd, const char* what) {
  PROG_CHECK(fdinfo_pid(fd) == -1, "%s: fdinfo Pid %ld", what, fdinfo_pid(fd));
  struct pollfd p = {.fd = fd, .events = POLLIN};
  PROG_CHECK(poll(&p, 1, 0) == 1 && (p.revents & POLLIN), "%s: not readable", what);
  PROG_CHECK(syscall(SYS_pidfd_send_signal, fd, 0, NULL, 0) != 0 && errno == ESRCH, "%s: signal went somewhere",
             what);
}

static pid_t exited_child(void) {
  pid_t c = fork();
  PROG_CHECK(c >= 0, "fork");
  if (c == 0) {
    pause();
    _exit(0);
  }
  return c;
}

int main(int argc, char** argv) {
  prog_init(argc, argv);
  pid_t a = exited_child(), b = exited_child();
  int a1 = pidfd_open(a, 0), a2 = pidfd_open(a, 0), b1 = pidfd_open(b, PIDFD_NONBLOCK);
  PROG_CHECK(a1 >= 0 && a2 >= 0 && b1 >= 0, "pidfd_open");
  PROG_CHECK(kill(a, SIGKILL) == 0 && kill(b, SIGKILL) == 0, "kill");
  PROG_CHECK(waitpid(a, NULL, 0) == a && waitpid(b, NULL, 0) == b, "reap");
  prog_ready();
  prog_wait_go();
  check_gone(a1, "first of a");
  check_gone(a2, "second of a");
  check_gone(b1, "b");
  struct stat s1, s2, s3;
  PROG_CHECK(fstat(a1, &s1) == 0 && fstat(a2, &s2) == 0 && fstat(b1, &s3) == 0, "fstat");
  PROG_CHECK(s1.st_ino == s2.st_ino, "one process, two inodes");
  PROG_CHECK(s1.st_ino != s3.st_ino, "two processes, one inode");
  PROG_CHECK(!(fcntl(a1, F_GETFL) & O_NONBLOCK) && (fcntl(b1, F_GETFL) & O_NONBLOCK), "flags");
  PROG_CHECK((fcntl(a1, F_GETFD) & FD_CLOEXEC) && (fcntl(b1, F_GETFD) & FD_CLOEXEC), "FD_CLOEXEC");
  prog_pass();
}
