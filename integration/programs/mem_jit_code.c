// Code generated at run time into an anonymous mapping, then made
// read+exec (a JIT): after restore the mapping is still r-x and the code
// still runs and returns its constant.
#define _GNU_SOURCE
#include <string.h>
#include <sys/mman.h>

#include "prog.h"

int main(int argc, char** argv) {
  prog_init(argc, argv);
  unsigned char code[] = {0xb8, 0x2a, 0x10, 0x00, 0x00, 0xc3};  // mov eax, 0x102a; ret
  unsigned char* p = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  PROG_CHECK(p != MAP_FAILED, "mmap");
  memcpy(p, code, sizeof code);
  PROG_CHECK(mprotect(p, 4096, PROT_READ | PROT_EXEC) == 0, "mprotect");
  int (*fn)(void) = (int (*)(void))p;
  PROG_CHECK(fn() == 0x102a, "code does not run before the dump");
  prog_ready();
  prog_wait_go();
  PROG_CHECK(fn() == 0x102a, "generated code lost");
  PROG_CHECK(mprotect(p, 4096, PROT_READ | PROT_WRITE) == 0, "mprotect back");
  prog_pass();
}
