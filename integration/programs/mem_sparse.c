// 64 MiB of anonymous memory with every other page written (16384 runs of
// one page each, so restore reads them in several rounds) and the pages
// between left untouched. After restore every written page holds its own
// pattern and every untouched one reads as zeros.
#define _GNU_SOURCE
#include <stdint.h>
#include <sys/mman.h>
#include <unistd.h>

#include "prog.h"

#define PAGES 16384 * 2
#define PAGE 4096

int main(int argc, char** argv) {
  prog_init(argc, argv);
  uint8_t* m = mmap(NULL, (size_t)PAGES * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  PROG_CHECK(m != MAP_FAILED, "mmap");
  // No huge pages: they would fill the gaps and make one run of it all.
  PROG_CHECK(madvise(m, (size_t)PAGES * PAGE, MADV_NOHUGEPAGE) == 0, "madvise");
  for (size_t p = 0; p < PAGES; p += 2)
    for (size_t k = 0; k < PAGE; k += 512) *(uint64_t*)(m + p * PAGE + k) = p * 1000003 + k;
  prog_ready();
  prog_wait_go();
  for (size_t p = 0; p < PAGES; p++)
    for (size_t k = 0; k < PAGE; k += 512) {
      uint64_t v = *(uint64_t*)(m + p * PAGE + k), want = p % 2 == 0 ? p * 1000003 + k : 0;
      PROG_CHECK(v == want, "page %zu offset %zu: %#llx, want %#llx", p, k, (unsigned long long)v, (unsigned long long)want);
    }
  prog_pass();
}
