// Mapping flags smaps shows beside the madvise ones: MAP_LOCKED (lo), a
// region mlock()ed after mmap (lo), MADV_SEQUENTIAL (sr), MADV_RANDOM
// (rr), MAP_NORESERVE (nr) and MAP_DROPPABLE (dp): each keeps its flag
// after restore, and the others their data.
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>

#include "prog.h"

#define LEN (8 * 4096)
#define MAP_DROPPABLE_ 0x08

static int has_flag(void* addr, const char* flag) {
  FILE* f = fopen("/proc/self/smaps", "r");
  char line[512];
  unsigned long a = (unsigned long)addr;
  int in = 0, found = 0;
  while (fgets(line, sizeof line, f)) {
    unsigned long s, e;
    char c;
    if (sscanf(line, "%lx-%lx %c", &s, &e, &c) == 3) in = a >= s && a < e;
    if (in && strncmp(line, "VmFlags:", 8) == 0) {
      char want[8];
      snprintf(want, sizeof want, " %s", flag);
      found = strstr(line, want) != NULL;
    }
  }
  fclose(f);
  return found;
}

int main(int argc, char** argv) {
  prog_init(argc, argv);
  struct {
    int flags, advice;
    const char* flag;
    char* p;
  } r[] = {{MAP_PRIVATE | MAP_LOCKED, MADV_NORMAL, "lo", 0},
           {MAP_PRIVATE, -1, "lo", 0},  // mlock()ed
           {MAP_PRIVATE, MADV_SEQUENTIAL, "sr", 0},
           {MAP_PRIVATE, MADV_RANDOM, "rr", 0},
           {MAP_PRIVATE | MAP_NORESERVE, MADV_NORMAL, "nr", 0},
           {MAP_DROPPABLE_, MADV_NORMAL, "dp", 0}};
  int n = sizeof r / sizeof r[0];
  for (int i = 0; i < n; i++) {
    r[i].p = mmap(NULL, LEN, PROT_READ | PROT_WRITE, r[i].flags | MAP_ANONYMOUS, -1, 0);
    if (r[i].p == MAP_FAILED && r[i].flags == MAP_DROPPABLE_ && errno == EINVAL) {
      fprintf(stderr, "no MAP_DROPPABLE here: not checked\n");
      r[i].p = NULL;
      continue;
    }
    PROG_CHECK(r[i].p != MAP_FAILED, "mmap %s", r[i].flag);
    if (r[i].advice < 0)
      PROG_CHECK(mlock(r[i].p, LEN) == 0, "mlock");
    else
      PROG_CHECK(madvise(r[i].p, LEN, r[i].advice) == 0, "madvise %s", r[i].flag);
    memset(r[i].p, 'a' + i, LEN);
    PROG_CHECK(has_flag(r[i].p, r[i].flag), "%s not shown before the dump", r[i].flag);
  }
  prog_ready();
  prog_wait_go();
  for (int i = 0; i < n; i++) {
    if (!r[i].p) continue;
    PROG_CHECK(has_flag(r[i].p, r[i].flag), "region %d lost %s", i, r[i].flag);
    if (r[i].flags == MAP_DROPPABLE_) continue;  // its pages may be gone
    for (int k = 0; k < LEN; k++) PROG_CHECK(r[i].p[k] == 'a' + i, "data of region %d (%s)", i, r[i].flag);
  }
  prog_pass();
}
