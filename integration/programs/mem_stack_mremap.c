// Deep recursion leaves data all down the stack; a region moved with
// mremap and one grown in place keep their contents at their new places.
#define _GNU_SOURCE
#include <string.h>
#include <sys/mman.h>

#include "prog.h"

static int depth_check(int n, volatile char* parent) {
  volatile char frame[1024];
  memset((char*)frame, n & 0xff, sizeof frame);
  if (n == 0) {
    prog_ready();
    prog_wait_go();
  } else if (depth_check(n - 1, frame)) {
    return 1;
  }
  for (size_t i = 0; i < sizeof frame; i++)
    if (frame[i] != (char)(n & 0xff)) return 1;
  (void)parent;
  return 0;
}

int main(int argc, char** argv) {
  prog_init(argc, argv);
  char* a = mmap(NULL, 4 * 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  PROG_CHECK(a != MAP_FAILED, "mmap");
  memset(a, 'm', 4 * 4096);
  char* moved = mremap(a, 4 * 4096, 8 * 4096, MREMAP_MAYMOVE);
  PROG_CHECK(moved != MAP_FAILED, "mremap");
  memset(moved + 4 * 4096, 'n', 4 * 4096);
  PROG_CHECK(depth_check(2000, NULL) == 0, "stack frames lost their data");
  for (int i = 0; i < 8 * 4096; i++) PROG_CHECK(moved[i] == (i < 4 * 4096 ? 'm' : 'n'), "moved region byte %d", i);
  prog_pass();
}
