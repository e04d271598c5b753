// The working directory deep in directories whose names have spaces and
// non-ASCII bytes, and a file open there by a relative name.
#define _GNU_SOURCE
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "prog.h"

int main(int argc, char** argv) {
  prog_init(argc, argv);
  const char* dirs[] = {"a dir", "n\xc3\xa4me", "x y z", "deep"};
  for (int i = 0; i < 4; i++) {
    PROG_CHECK(mkdir(dirs[i], 0755) == 0 && chdir(dirs[i]) == 0, "mkdir %s", dirs[i]);
  }
  char before[1024];
  PROG_CHECK(getcwd(before, sizeof before) != NULL, "getcwd");
  int fd = open("in here.txt", O_RDWR | O_CREAT, 0644);
  PROG_CHECK(fd >= 0 && write(fd, "x", 1) == 1, "open");
  prog_ready();
  prog_wait_go();
  char now[1024];
  PROG_CHECK(getcwd(now, sizeof now) && strcmp(now, before) == 0, "cwd %s", now);
  PROG_CHECK(access("in here.txt", F_OK) == 0, "relative names broke");
  PROG_CHECK(lseek(fd, 0, SEEK_CUR) == 1, "offset");
  prog_pass();
}
