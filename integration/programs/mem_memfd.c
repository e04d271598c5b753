// A memfd with a name, contents, a hole, seals, an fd with an offset, a
// shared writable mapping and a private one with a changed page: after
// restore the name, contents, seals and offset are the same, and the fd
// and the shared mapping are still one file (writes through one show in
// the other).
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "prog.h"

#define PG 4096

int main(int argc, char** argv) {
  prog_init(argc, argv);
  int fd = memfd_create("cryo-test-memfd", MFD_ALLOW_SEALING);
  PROG_CHECK(fd >= 0, "memfd_create");
  PROG_CHECK(dup2(fd, 7) == 7, "dup2");
  close(fd);
  fd = 7;
  PROG_CHECK(ftruncate(fd, 8 * PG) == 0, "ftruncate");
  PROG_CHECK(pwrite(fd, "first page", 10, 0) == 10 && pwrite(fd, "last page", 9, 7 * PG) == 9, "write");
  char* shared = mmap(NULL, 8 * PG, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  char* priv = mmap(NULL, 8 * PG, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
  PROG_CHECK(shared != MAP_FAILED && priv != MAP_FAILED, "mmap");
  strcpy(shared + 3 * PG, "via mapping");
  strcpy(priv + 7 * PG, "private copy");
  PROG_CHECK(fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW) == 0, "seal");
  PROG_CHECK(lseek(fd, 1234, SEEK_SET) == 1234, "seek");
  prog_ready();
  prog_wait_go();
  char link[256] = {0};
  PROG_CHECK(readlink("/proc/self/fd/7", link, sizeof link - 1) > 0, "readlink");
  PROG_CHECK(strcmp(link, "/memfd:cryo-test-memfd (deleted)") == 0, "name: %s", link);
  PROG_CHECK(fcntl(fd, F_GET_SEALS) == (F_SEAL_SHRINK | F_SEAL_GROW), "seals %#x", fcntl(fd, F_GET_SEALS));
  PROG_CHECK(lseek(fd, 0, SEEK_CUR) == 1234, "offset");
  char buf[16] = {0};
  PROG_CHECK(pread(fd, buf, 10, 0) == 10 && strcmp(buf, "first page") == 0, "page 0: %s", buf);
  PROG_CHECK(pread(fd, buf, 11, 3 * PG) == 11 && memcmp(buf, "via mapping", 11) == 0, "page 3");
  PROG_CHECK(strcmp(shared + 7 * PG, "last page") == 0, "shared mapping content");
  PROG_CHECK(strcmp(priv + 7 * PG, "private copy") == 0, "private copy lost");
  PROG_CHECK(priv[5 * PG] == 0 && shared[5 * PG] == 0, "hole content");
  PROG_CHECK(pwrite(fd, "NEW", 3, PG) == 3 && memcmp(shared + PG, "NEW", 3) == 0, "fd and mapping are not one file");
  strcpy(shared + 2 * PG, "back");
  PROG_CHECK(pread(fd, buf, 4, 2 * PG) == 4 && memcmp(buf, "back", 4) == 0, "mapping writes miss the fd");
  PROG_CHECK(ftruncate(fd, PG) < 0, "F_SEAL_SHRINK not in force");
  prog_pass();
}
