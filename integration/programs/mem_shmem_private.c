// A shared anonymous region, reopened through /proc/self/map_files and
// mapped again privately (from page 1) and shared (from page 2): after
// restore the private mapping keeps its own copy of the page it wrote,
// still sees the object's other pages (and writes to them), the second
// shared mapping is the same object, and all of it is still the
// "/dev/zero (deleted)" object.
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "prog.h"

#define P 4096

static int named_zero(void* addr) {
  FILE* f = fopen("/proc/self/maps", "r");
  char line[512];
  int found = 0;
  while (fgets(line, sizeof line, f)) {
    unsigned long s, e;
    if (sscanf(line, "%lx-%lx", &s, &e) == 2 && (unsigned long)addr >= s && (unsigned long)addr < e)
      found = strstr(line, "/dev/zero (deleted)") != NULL;
  }
  fclose(f);
  return found;
}

int main(int argc, char** argv) {
  prog_init(argc, argv);
  char* shared = mmap(NULL, 5 * P, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  PROG_CHECK(shared != MAP_FAILED, "mmap");
  for (int i = 0; i < 5; i++) shared[i * P] = (char)('a' + i);
  char path[128];
  snprintf(path, sizeof path, "/proc/self/map_files/%lx-%lx", (unsigned long)shared, (unsigned long)shared + 5 * P);
  int fd = open(path, O_RDWR);
  PROG_CHECK(fd >= 0, "open %s", path);
  char* priv = mmap(NULL, 3 * P, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, P);
  char* again = mmap(NULL, 3 * P, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 2 * P);
  PROG_CHECK(priv != MAP_FAILED && again != MAP_FAILED, "mmap of the object");
  close(fd);
  priv[0] = 'P';  // page 1 of the object, copied
  PROG_CHECK(shared[P] == 'b' && priv[P] == 'c' && again[0] == 'c', "mappings before the dump");
  prog_ready();
  prog_wait_go();
  PROG_CHECK(priv[0] == 'P' && shared[P] == 'b', "private copy: %c, object: %c", priv[0], shared[P]);
  PROG_CHECK(priv[P] == 'c' && priv[2 * P] == 'd' && again[0] == 'c', "pages of the object");
  shared[2 * P] = 'X';
  PROG_CHECK(again[0] == 'X', "the second shared mapping is another object");
  PROG_CHECK(priv[P] == 'X', "the private mapping's untouched page does not follow the object");
  PROG_CHECK(named_zero(shared) && named_zero(priv) && named_zero(again), "not /dev/zero (deleted) after restore");
  prog_pass();
}
