// Files of the process's own namespaces held open (/proc/self/ns/X for
// net, uts, ipc, pid, mnt, cgroup, user), one of them O_CLOEXEC. After
// restore each fd is the namespace of that kind the process is in now
// (same inode as /proc/self/ns/X, same link text), keeps its FD_CLOEXEC,
// and setns() into it works.
#define _GNU_SOURCE
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "prog.h"

static const char* kinds[] = {"net", "uts", "ipc", "pid", "mnt", "cgroup", "user"};
#define N (sizeof kinds / sizeof kinds[0])

int main(int argc, char** argv) {
  prog_init(argc, argv);
  int fds[N];
  for (size_t i = 0; i < N; i++) {
    char p[64];
    snprintf(p, sizeof p, "/proc/self/ns/%s", kinds[i]);
    fds[i] = open(p, O_RDONLY | (i == 1 ? O_CLOEXEC : 0));
    PROG_CHECK(fds[i] >= 0, "open %s", p);
  }
  prog_ready();
  prog_wait_go();
  for (size_t i = 0; i < N; i++) {
    char p[64], fdp[64], now[64] = {0}, held[64] = {0};
    snprintf(p, sizeof p, "/proc/self/ns/%s", kinds[i]);
    snprintf(fdp, sizeof fdp, "/proc/self/fd/%d", fds[i]);
    struct stat a, b;
    PROG_CHECK(fstat(fds[i], &a) == 0 && stat(p, &b) == 0, "stat %s", kinds[i]);
    PROG_CHECK(a.st_ino == b.st_ino && a.st_dev == b.st_dev, "%s: the fd is another namespace", kinds[i]);
    PROG_CHECK(readlink(p, now, sizeof now - 1) > 0 && readlink(fdp, held, sizeof held - 1) > 0, "readlink");
    PROG_CHECK(strcmp(now, held) == 0, "%s: fd %s, process %s", kinds[i], held, now);
    PROG_CHECK(!!(fcntl(fds[i], F_GETFD) & FD_CLOEXEC) == (i == 1), "%s: FD_CLOEXEC", kinds[i]);
  }
  PROG_CHECK(setns(fds[0], CLONE_NEWNET) == 0 && setns(fds[1], CLONE_NEWUTS) == 0, "setns");
  prog_pass();
}
