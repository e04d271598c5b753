// A task that calls exec between two pre-dumps: the memory its first
// pre-dump tracked is gone, and the next run must track the new one, so
// that the dump after it is incremental again. Steps as memchurn's
// (suite.sh): before step 1 it holds region A; at step 1 it execs itself
// and builds region B; at step 2 it rewrites part of B; after the restore
// B must hold what step 2 left.
#define _GNU_SOURCE
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "prog.h"

#define PAGE 4096UL
enum { kPages = 2048 };

static uint8_t* map_filled(int region, int version) {
  uint8_t* p = mmap(NULL, kPages * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  PROG_CHECK(p != MAP_FAILED, "mmap");
  for (size_t i = 0; i < kPages; i++) memset(p + i * PAGE, region + version + (int)(i % 200), PAGE);
  return p;
}

int main(int argc, char** argv) {
  prog_init(argc, argv);
  if (argc < 2) {
    uint8_t* a = map_filled(1, 0);
    (void)a;
    prog_ready();
    prog_wait_mark("step1");
    char* args[] = {argv[0], "after-exec", NULL};
    execv("/proc/self/exe", args);
    prog_fail("exec: %m");
  }
  uint8_t* b = map_filled(50, 0);
  prog_mark("step1-done");
  prog_wait_mark("step2");
  for (size_t i = 0; i < kPages; i += 8) memset(b + i * PAGE, 50 + 1 + (int)(i % 200), PAGE);
  prog_mark("step2-done");
  prog_wait_go();
  for (size_t i = 0; i < kPages; i++) {
    int want = 50 + (i % 8 == 0 ? 1 : 0) + (int)(i % 200);
    for (size_t k = 0; k < PAGE; k++)
      PROG_CHECK(b[i * PAGE + k] == (uint8_t)want, "B page %zu byte %zu: %d, want %d", i, k, b[i * PAGE + k], want);
  }
  prog_pass();
}
