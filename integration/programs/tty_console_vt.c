// The system console (5:1) and a virtual console (4:5), held through
// device nodes the program made in its directory (read-only, as a
// logger would). After restore both fds are open on the same devices
// (st_rdev) at the same paths, with the same access mode.
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "prog.h"

int main(int argc, char** argv) {
  prog_init(argc, argv);
  const char* dir = getenv("CRYO_PROG_DIR");
  PROG_CHECK(dir != NULL, "no CRYO_PROG_DIR");
  const dev_t devs[2] = {makedev(5, 1), makedev(4, 5)};
  char path[2][512];
  int fd[2];
  for (int i = 0; i < 2; i++) {
    snprintf(path[i], sizeof path[i], "%s/console-%d", dir, i);
    unlink(path[i]);
    PROG_CHECK(mknod(path[i], S_IFCHR | 0600, devs[i]) == 0, "mknod %s", path[i]);
    fd[i] = open(path[i], O_RDONLY | O_NOCTTY);
    PROG_CHECK(fd[i] >= 0, "open %s", path[i]);
  }
  prog_ready();
  prog_wait_go();
  for (int i = 0; i < 2; i++) {
    struct stat st;
    PROG_CHECK(fstat(fd[i], &st) == 0, "fstat %d", i);
    PROG_CHECK(S_ISCHR(st.st_mode) && st.st_rdev == devs[i], "fd %d: device %u:%u, want %u:%u", i, major(st.st_rdev),
               minor(st.st_rdev), major(devs[i]), minor(devs[i]));
    char link[64], target[512];
    snprintf(link, sizeof link, "/proc/self/fd/%d", fd[i]);
    ssize_t n = readlink(link, target, sizeof target - 1);
    PROG_CHECK(n > 0, "readlink %s", link);
    target[n] = 0;
    PROG_CHECK(strcmp(target, path[i]) == 0, "fd %d: path %s, want %s", i, target, path[i]);
    int fl = fcntl(fd[i], F_GETFL);
    PROG_CHECK((fl & O_ACCMODE) == O_RDONLY, "fd %d: flags %#x", i, fl);
  }
  for (int i = 0; i < 2; i++) unlink(path[i]);
  prog_pass();
}
