// madvise state of mappings, as smaps VmFlags show it: DONTFORK (dc),
// DONTDUMP (dd), HUGEPAGE (hg), NOHUGEPAGE (nh), WIPEONFORK (wf): each
// region keeps its flag, and its data.
#define _GNU_SOURCE
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>

#include "prog.h"

#define LEN (4 << 20)

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
    int advice;
    const char* flag;
    char* p;
  } r[] = {{MADV_DONTFORK, "dc", 0}, {MADV_DONTDUMP, "dd", 0}, {MADV_HUGEPAGE, "hg", 0},
           {MADV_NOHUGEPAGE, "nh", 0}, {MADV_WIPEONFORK, "wf", 0}};
  for (int i = 0; i < 5; i++) {
    r[i].p = mmap(NULL, LEN, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    PROG_CHECK(r[i].p != MAP_FAILED, "mmap");
    PROG_CHECK(madvise(r[i].p, LEN, r[i].advice) == 0, "madvise %s", r[i].flag);
    memset(r[i].p, 'a' + i, 3 * 4096);
    PROG_CHECK(has_flag(r[i].p, r[i].flag), "%s not shown before the dump", r[i].flag);
  }
  prog_ready();
  prog_wait_go();
  for (int i = 0; i < 5; i++) {
    PROG_CHECK(has_flag(r[i].p, r[i].flag), "%s lost", r[i].flag);
    for (int k = 0; k < 3 * 4096; k++) PROG_CHECK(r[i].p[k] == 'a' + i, "data of the %s region", r[i].flag);
  }
  prog_pass();
}
