// Regular files with their fd numbers, offsets, access modes, O_APPEND,
// close-on-exec flags, a dup'ed fd sharing its offset, a directory fd and
// /dev/null, /dev/zero, /dev/urandom; umask and cwd.
#define _GNU_SOURCE
#include <dirent.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "prog.h"

static int open_at(const char* name, int flags, int want_fd) {
  int fd = open(name, flags, 0644);
  if (fd < 0) prog_fail("open %s", name);
  if (fd != want_fd) {
    if (dup2(fd, want_fd) < 0) prog_fail("dup2");
    close(fd);
  }
  return want_fd;
}

int main(int argc, char** argv) {
  prog_init(argc, argv);
  PROG_CHECK(mkdir("sub", 0755) == 0, "mkdir");
  int rd = open_at("rd.txt", O_RDWR | O_CREAT, 5);
  PROG_CHECK(write(rd, "0123456789", 10) == 10, "write");
  PROG_CHECK(lseek(rd, 3, SEEK_SET) == 3, "seek");
  int ro = open_at("rd.txt", O_RDONLY, 9);
  PROG_CHECK(lseek(ro, 7, SEEK_SET) == 7, "seek ro");
  int ap = open_at("ap.txt", O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 12);
  PROG_CHECK(write(ap, "abc", 3) == 3, "append");
  int shared = dup2(rd, 40);
  int dir = open_at(".", O_RDONLY | O_DIRECTORY, 20);
  int null = open_at("/dev/null", O_WRONLY, 21);
  int zero = open_at("/dev/zero", O_RDONLY, 22);
  int urnd = open_at("/dev/urandom", O_RDONLY | O_CLOEXEC, 23);
  // dup2 in open_at drops close-on-exec: set it where wanted.
  PROG_CHECK(fcntl(20, F_SETFD, FD_CLOEXEC) == 0 && fcntl(ap, F_SETFD, FD_CLOEXEC) == 0 &&
                 fcntl(urnd, F_SETFD, FD_CLOEXEC) == 0,
             "cloexec");
  umask(027);
  PROG_CHECK(chdir("sub") == 0, "chdir");
  char cwd_before[512];
  PROG_CHECK(getcwd(cwd_before, sizeof cwd_before) != NULL, "getcwd");
  prog_ready();
  prog_wait_go();
  PROG_CHECK(lseek(rd, 0, SEEK_CUR) == 3, "rd offset %ld", (long)lseek(rd, 0, SEEK_CUR));
  PROG_CHECK(lseek(ro, 0, SEEK_CUR) == 7, "ro offset");
  PROG_CHECK((fcntl(rd, F_GETFL) & O_ACCMODE) == O_RDWR, "rd mode");
  PROG_CHECK((fcntl(ro, F_GETFL) & O_ACCMODE) == O_RDONLY, "ro mode");
  PROG_CHECK(fcntl(ap, F_GETFL) & O_APPEND, "O_APPEND lost");
  PROG_CHECK(fcntl(ap, F_GETFD) == FD_CLOEXEC, "ap cloexec lost");
  PROG_CHECK(fcntl(rd, F_GETFD) == 0, "rd became cloexec");
  PROG_CHECK(fcntl(20, F_GETFD) == FD_CLOEXEC, "dir cloexec lost");
  PROG_CHECK(fcntl(urnd, F_GETFD) == FD_CLOEXEC, "urandom cloexec lost");
  // The dup shares the offset: moving one moves the other.
  PROG_CHECK(lseek(shared, 6, SEEK_SET) == 6 && lseek(rd, 0, SEEK_CUR) == 6, "dup no longer shares offset");
  char c;
  PROG_CHECK(read(rd, &c, 1) == 1 && c == '6', "rd content");
  PROG_CHECK(write(ap, "d", 1) == 1, "append write");
  PROG_CHECK(lseek(ap, 0, SEEK_END) == 4, "append file size");
  PROG_CHECK(write(null, "x", 1) == 1, "/dev/null");
  PROG_CHECK(read(zero, &c, 1) == 1 && c == 0, "/dev/zero");
  PROG_CHECK(read(urnd, &c, 1) == 1, "/dev/urandom");
  DIR* d = fdopendir(dup(dir));
  PROG_CHECK(d != NULL, "fdopendir");
  int n = 0;
  while (readdir(d)) n++;
  PROG_CHECK(n >= 4, "directory listing has %d entries", n);
  char cwd[512];
  PROG_CHECK(getcwd(cwd, sizeof cwd) && strcmp(cwd, cwd_before) == 0, "cwd changed");
  mode_t m = umask(0);
  PROG_CHECK(m == 027, "umask %o", m);
  PROG_CHECK(fcntl(30, F_GETFD) < 0 && fcntl(41, F_GETFD) < 0, "unexpected fds appeared");
  prog_pass();
}
