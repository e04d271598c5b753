// 64 MiB of patterned data in one mapping plus a 16 MiB mapping where
// every other page was touched: every byte comes back.
#include <stdint.h>
#include <stdlib.h>
#include <sys/mman.h>

#include "prog.h"

int main(int argc, char** argv) {
  prog_init(argc, argv);
  size_t big = 64 << 20, holey = 16 << 20;
  uint64_t* p = mmap(NULL, big, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  uint64_t* h = mmap(NULL, holey, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  PROG_CHECK(p != MAP_FAILED && h != MAP_FAILED, "mmap");
  for (size_t i = 0; i < big / 8; i++) p[i] = i * 0x9e3779b97f4a7c15ULL;
  for (size_t pg = 0; pg < holey / 4096; pg += 2) h[pg * 512 + 7] = pg + 1;
  prog_ready();
  prog_wait_go();
  for (size_t i = 0; i < big / 8; i++) PROG_CHECK(p[i] == i * 0x9e3779b97f4a7c15ULL, "word %zu", i);
  for (size_t pg = 0; pg < holey / 4096; pg++)
    PROG_CHECK(h[pg * 512 + 7] == ((pg % 2) ? 0 : pg + 1), "page %zu", pg);
  prog_pass();
}
