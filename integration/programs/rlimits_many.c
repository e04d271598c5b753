// Soft and hard limits of many resources, lowered by the program (root
// here cannot raise them: no CAP_SYS_RESOURCE), are the same after restore.
#define _GNU_SOURCE
#include <sys/resource.h>

#include "prog.h"

int main(int argc, char** argv) {
  prog_init(argc, argv);
  int res[] = {RLIMIT_CPU, RLIMIT_FSIZE, RLIMIT_CORE, RLIMIT_NOFILE, RLIMIT_NPROC, RLIMIT_MSGQUEUE,
               RLIMIT_SIGPENDING, RLIMIT_RTTIME};
  struct rlimit want[8];
  for (int i = 0; i < 8; i++) {
    struct rlimit cur;
    PROG_CHECK(getrlimit(res[i], &cur) == 0, "getrlimit");
    rlim_t max = cur.rlim_max == RLIM_INFINITY ? 1000000 : cur.rlim_max / 2 + 1;
    want[i].rlim_max = max;
    want[i].rlim_cur = max / 2 + i;
    PROG_CHECK(setrlimit(res[i], &want[i]) == 0, "setrlimit %d", res[i]);
  }
  prog_ready();
  prog_wait_go();
  for (int i = 0; i < 8; i++) {
    struct rlimit now;
    getrlimit(res[i], &now);
    PROG_CHECK(now.rlim_cur == want[i].rlim_cur && now.rlim_max == want[i].rlim_max,
               "resource %d: %lu/%lu, want %lu/%lu", res[i], (unsigned long)now.rlim_cur,
               (unsigned long)now.rlim_max, (unsigned long)want[i].rlim_cur, (unsigned long)want[i].rlim_max);
  }
  prog_pass();
}
