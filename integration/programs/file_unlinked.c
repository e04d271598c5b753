// A file opened, written and unlinked (its content lives on only through
// the fd): after restore the fd reads the same content at the same offset,
// fstat says no links, and no file by that name appeared.
#define _GNU_SOURCE
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "prog.h"

int main(int argc, char** argv) {
  prog_init(argc, argv);
  int fd = open("scratch.dat", O_RDWR | O_CREAT, 0640);
  PROG_CHECK(fd >= 0, "open");
  char data[10000];
  for (size_t i = 0; i < sizeof data; i++) data[i] = (char)(i * 7 + 3);
  PROG_CHECK(write(fd, data, sizeof data) == (ssize_t)sizeof data, "write");
  PROG_CHECK(lseek(fd, 1234, SEEK_SET) == 1234, "seek");
  PROG_CHECK(unlink("scratch.dat") == 0, "unlink");
  prog_ready();
  prog_wait_go();
  struct stat st;
  PROG_CHECK(fstat(fd, &st) == 0 && st.st_nlink == 0, "the file has links again");
  PROG_CHECK(st.st_size == (off_t)sizeof data, "size %ld", (long)st.st_size);
  PROG_CHECK((st.st_mode & 0777) == 0640, "mode %o", st.st_mode & 0777);
  PROG_CHECK(lseek(fd, 0, SEEK_CUR) == 1234, "offset");
  char back[sizeof data];
  PROG_CHECK(pread(fd, back, sizeof back, 0) == (ssize_t)sizeof back, "read");
  PROG_CHECK(memcmp(back, data, sizeof data) == 0, "content changed");
  PROG_CHECK(access("scratch.dat", F_OK) != 0, "a file by the old name exists");
  PROG_CHECK(write(fd, "x", 1) == 1, "still writable");
  prog_pass();
}
