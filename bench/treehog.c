// treehog N: a tree of N sleeping processes (the root and N-1 children),
// each with 64 KiB of its own data touched. Prints "spawn_us T" once all are
// set up: the time creating the tree took, the baseline tree.sh compares
// dump and restore against.
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static char data[64 << 10];

static long long now_us(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1000000LL + ts.tv_nsec / 1000;
}

static void sleep_forever(void) {
  for (;;) pause();
}

int main(int argc, char** argv) {
  int n = argc > 1 ? atoi(argv[1]) : 100;
  if (n < 1) return 2;
  int p[2];
  if (pipe(p) != 0) return 1;
  long long t0 = now_us();
  for (int i = 1; i < n; i++) {
    pid_t c = fork();
    if (c < 0) return 1;
    if (c == 0) {
      close(p[0]);
      memset(data, i & 0xff, sizeof data);
      if (write(p[1], "x", 1) != 1) _exit(1);
      close(p[1]);
      sleep_forever();
    }
  }
  close(p[1]);
  memset(data, 0xaa, sizeof data);
  for (int got = 0; got < n - 1;) {
    char b[256];
    ssize_t r = read(p[0], b, sizeof b);
    if (r <= 0) return 1;
    got += (int)r;
  }
  close(p[0]);
  printf("spawn_us %lld\n", now_us() - t0);
  fflush(stdout);
  sleep_forever();
}
