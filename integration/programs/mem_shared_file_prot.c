// A file opened O_RDWR, mapped shared and read-only, one page of it made
// writable with mprotect: after restore the written page still writes
// through to the file, and the read-only page can be made writable too
// (the mapping's file is opened as it was, O_RDWR).
#define _GNU_SOURCE
#include <fcntl.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "prog.h"

int main(int argc, char** argv) {
  prog_init(argc, argv);
  int fd = open("shared.bin", O_RDWR | O_CREAT | O_TRUNC, 0644);
  PROG_CHECK(fd >= 0, "open");
  PROG_CHECK(ftruncate(fd, 2 * 4096) == 0, "ftruncate");
  char* ro = mmap(NULL, 2 * 4096, PROT_READ, MAP_SHARED, fd, 0);
  PROG_CHECK(ro != MAP_FAILED, "mmap");
  char* rw = ro + 4096;
  PROG_CHECK(mprotect(rw, 4096, PROT_READ | PROT_WRITE) == 0, "mprotect");
  rw[0] = 'w';
  PROG_CHECK(close(fd) == 0, "close");
  prog_ready();
  prog_wait_go();
  PROG_CHECK(rw[0] == 'w', "written page");
  rw[1] = 'x';
  PROG_CHECK(mprotect(ro, 4096, PROT_READ | PROT_WRITE) == 0, "mprotect of the read-only page after restore");
  ro[0] = 'r';
  fd = open("shared.bin", O_RDONLY);
  char got[2] = {0};
  PROG_CHECK(pread(fd, got, 1, 0) == 1 && pread(fd, got + 1, 1, 4097) == 1, "read back");
  PROG_CHECK(got[0] == 'r' && got[1] == 'x', "writes reach the file: %c %c", got[0], got[1]);
  prog_pass();
}
