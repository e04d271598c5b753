// A file mapped read-only and private, one mapped read-write private with
// untouched pages only (nothing of it in the dump: it comes back from the
// file), and a private writable mapping past a hole in the file.
#define _GNU_SOURCE
#include <fcntl.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "prog.h"

int main(int argc, char** argv) {
  prog_init(argc, argv);
  int fd = open("ro.bin", O_RDWR | O_CREAT | O_TRUNC, 0644);
  PROG_CHECK(fd >= 0, "open");
  char page[4096];
  for (int i = 0; i < 4; i++) {
    memset(page, 'A' + i, sizeof page);
    PROG_CHECK(pwrite(fd, page, sizeof page, i * 4096) == sizeof page, "write");
  }
  char* ro = mmap(NULL, 4 * 4096, PROT_READ, MAP_PRIVATE, fd, 0);
  char* rw = mmap(NULL, 2 * 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 2 * 4096);
  PROG_CHECK(ro != MAP_FAILED && rw != MAP_FAILED, "mmap");
  close(fd);
  volatile char touch = ro[0] + rw[0];
  (void)touch;
  prog_ready();
  prog_wait_go();
  for (int i = 0; i < 4; i++) PROG_CHECK(ro[i * 4096 + 100] == 'A' + i, "ro page %d", i);
  PROG_CHECK(rw[0] == 'C' && rw[4096] == 'D', "rw mapping offset");
  rw[10] = 'z';
  PROG_CHECK(ro[2 * 4096 + 10] == 'C', "private write leaked");
  prog_pass();
}
