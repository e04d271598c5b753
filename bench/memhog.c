// memhog MIB: fills MIB mebibytes with non-zero data, prints the time that
// first touch took (the bench's baseline), then waits to be dumped. Each
// SIGUSR1 rewrites one page in 16 and prints "rewrote N" (the incremental
// bench's change between a pre-dump and the dump).
#define _GNU_SOURCE
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

static volatile sig_atomic_t rewrite;
static void on_usr1(int sig) {
  (void)sig;
  rewrite = 1;
}

int main(int argc, char** argv) {
  size_t mib = argc > 1 ? strtoul(argv[1], NULL, 10) : 1;
  size_t len = mib << 20;
  signal(SIGUSR1, on_usr1);
  struct timespec a, b;
  clock_gettime(CLOCK_MONOTONIC, &a);
  unsigned char* p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED) return 1;
  for (size_t i = 0; i < len; i += 4096) p[i] = (unsigned char)(i >> 12) | 1;
  clock_gettime(CLOCK_MONOTONIC, &b);
  printf("touch_us %ld\n", (b.tv_sec - a.tv_sec) * 1000000L + (b.tv_nsec - a.tv_nsec) / 1000);
  fflush(stdout);
  for (int round = 1;; round++) {
    while (!rewrite) pause();
    rewrite = 0;
    size_t n = 0;
    for (size_t i = 0; i < len; i += 16 * 4096, n++) p[i] = (unsigned char)(p[i] + round) | 1;
    printf("rewrote %zu\n", n);
    fflush(stdout);
  }
}
