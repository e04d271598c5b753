// The demo's workload: counts up forever, printing one number a line every
// 200 ms, so a checkpoint/restore shows as the count carrying on.
#include <stdio.h>
#include <time.h>

int main(void) {
  setvbuf(stdout, NULL, _IOLBF, 0);
  struct timespec tick = {0, 200 * 1000 * 1000};
  for (unsigned long n = 0;; n++) {
    printf("%lu\n", n);
    nanosleep(&tick, NULL);
  }
}
