// x87, SSE and AVX registers hold their values across the dump: the values
// stay in registers while the program waits (polling with raw syscalls,
// which do not touch vector registers), then are compared.
#define _GNU_SOURCE
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>
#include <string.h>
#include <stdlib.h>

#include "prog.h"

int main(int argc, char** argv) {
  prog_init(argc, argv);
  const char* dir = getenv("CRYO_PROG_DIR");
  static char go[600];
  strcpy(go, dir);
  strcat(go, "/go");
  double in[4] = {1.5, -2.25, 3.125, 1e300}, out[4];
  double x87_in = 2.718281828459045, x87_out;
  prog_ready();
  __asm__ volatile(
      "vbroadcastsd %[a], %%ymm7\n\t"
      "vbroadcastsd %[b], %%ymm12\n\t"
      "movsd %[c], %%xmm3\n\t"
      "fldl %[x]\n\t"
      "1:\n\t"
      "mov $4, %%eax\n\t"           // stat(go, &st): raw syscall
      "mov %[go], %%rdi\n\t"
      "lea -256(%%rsp), %%rsi\n\t"
      "syscall\n\t"
      "test %%eax, %%eax\n\t"
      "jz 2f\n\t"
      "mov $35, %%eax\n\t"          // nanosleep(&t, NULL)
      "lea %[t], %%rdi\n\t"
      "xor %%esi, %%esi\n\t"
      "syscall\n\t"
      "jmp 1b\n\t"
      "2:\n\t"
      "fstpl %[xo]\n\t"
      "vmovupd %%ymm7, %[o]\n\t"
      "vextractf128 $1, %%ymm12, %%xmm12\n\t"
      "movsd %%xmm12, 16+%[o]\n\t"
      "movsd %%xmm3, 24+%[o]\n\t"
      : [o] "=m"(out), [xo] "=m"(x87_out)
      : [a] "m"(in[0]), [b] "m"(in[2]), [c] "m"(in[3]), [x] "m"(x87_in), [go] "r"(go),
        [t] "m"(*(const struct timespec[]){{0, 5000000}})
      : "rax", "rcx", "rdi", "rsi", "r11", "xmm3", "xmm7", "xmm12", "memory");
  PROG_CHECK(out[0] == 1.5 && out[1] == 1.5, "ymm7 lost: %g %g", out[0], out[1]);
  PROG_CHECK(out[2] == 3.125, "upper half of ymm12 lost: %g", out[2]);
  PROG_CHECK(out[3] == 1e300, "xmm3 lost: %g", out[3]);
  PROG_CHECK(x87_out == x87_in, "x87 st0 lost: %.17g", x87_out);
  prog_pass();
}
