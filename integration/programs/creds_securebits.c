// securebits of a root process (NOROOT, NO_SETUID_FIXUP, NO_CAP_AMBIENT_RAISE)
// are the same after restore.
#define _GNU_SOURCE
#include <linux/securebits.h>
#include <sys/prctl.h>

#include "prog.h"

int main(int argc, char** argv) {
  prog_init(argc, argv);
  int bits = SECBIT_NOROOT | SECBIT_NO_SETUID_FIXUP | SECBIT_NO_CAP_AMBIENT_RAISE;
  PROG_CHECK(prctl(PR_SET_SECUREBITS, bits) == 0, "set securebits");
  prog_ready();
  prog_wait_go();
  PROG_CHECK(prctl(PR_GET_SECUREBITS) == bits, "securebits %#x, want %#x", prctl(PR_GET_SECUREBITS), bits);
  prog_pass();
}
