// Floating-point control state: the rounding mode (x87 control word and
// SSE MXCSR) and enabled exception masks set by the program are the same
// after restore.
#define _GNU_SOURCE
#include <fenv.h>

#include "prog.h"

int main(int argc, char** argv) {
  prog_init(argc, argv);
  PROG_CHECK(fesetround(FE_DOWNWARD) == 0, "fesetround");
  unsigned int mxcsr;
  __asm__ volatile("stmxcsr %0" : "=m"(mxcsr));
  unsigned short cw;
  __asm__ volatile("fnstcw %0" : "=m"(cw));
  prog_ready();
  prog_wait_go();
  unsigned int mxcsr2;
  unsigned short cw2;
  __asm__ volatile("stmxcsr %0" : "=m"(mxcsr2));
  __asm__ volatile("fnstcw %0" : "=m"(cw2));
  PROG_CHECK(mxcsr2 == mxcsr, "MXCSR %#x, was %#x", mxcsr2, mxcsr);
  PROG_CHECK(cw2 == cw, "x87 control word %#x, was %#x", cw2, cw);
  PROG_CHECK(fegetround() == FE_DOWNWARD, "rounding mode");
  prog_pass();
}
