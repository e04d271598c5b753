// The mm fields the kernel shows: code/data/brk/stack/arg/env bounds in
// /proc/self/stat, the command line and environment, /proc/self/exe, the
// auxiliary vector, the brk value, and the vDSO/vvar addresses: identical
// after restore, and the vDSO still answers clock_gettime.
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>
#include <time.h>
#include <unistd.h>

#include "prog.h"

static void slurp(const char* path, char* out, size_t n) {
  int fd = open(path, O_RDONLY);
  ssize_t got = fd >= 0 ? read(fd, out, n - 1) : -1;
  out[got > 0 ? got : 0] = 0;
  if (fd >= 0) close(fd);
}

// Fields 26-28 and 45-51 of /proc/self/stat.
static void mm_fields(char* out, size_t n) {
  char stat[2048];
  slurp("/proc/self/stat", stat, sizeof stat);
  char* p = strrchr(stat, ')') + 2;
  int field = 3;
  out[0] = 0;
  for (char* tok = strtok(p, " "); tok; tok = strtok(NULL, " "), field++)
    if ((field >= 26 && field <= 28) || (field >= 45 && field <= 51)) {
      strncat(out, tok, n - strlen(out) - 2);
      strcat(out, " ");
    }
}

static void special_maps(char* out, size_t n) {
  FILE* f = fopen("/proc/self/maps", "r");
  char line[512];
  out[0] = 0;
  while (fgets(line, sizeof line, f))
    if (strstr(line, "[v")) strncat(out, line, n - strlen(out) - 1);
  fclose(f);
}

int main(int argc, char** argv) {
  prog_init(argc, argv);
  setenv("CRYO_TEST_ENV", "survives", 1);
  static char stat_b[512], stat_a[512], cmd_b[4096], cmd_a[4096], env_b[8192], env_a[8192], exe_b[512],
      exe_a[512], auxv_b[1024], auxv_a[1024], maps_b[1024], maps_a[1024];
  void* brk_b = sbrk(0);
  mm_fields(stat_b, sizeof stat_b);
  slurp("/proc/self/cmdline", cmd_b, sizeof cmd_b);
  slurp("/proc/self/environ", env_b, sizeof env_b);
  slurp("/proc/self/auxv", auxv_b, sizeof auxv_b);
  PROG_CHECK(readlink("/proc/self/exe", exe_b, sizeof exe_b - 1) > 0, "readlink");
  special_maps(maps_b, sizeof maps_b);
  unsigned long random_b = getauxval(AT_RANDOM);
  prog_ready();
  prog_wait_go();
  mm_fields(stat_a, sizeof stat_a);
  slurp("/proc/self/cmdline", cmd_a, sizeof cmd_a);
  slurp("/proc/self/environ", env_a, sizeof env_a);
  slurp("/proc/self/auxv", auxv_a, sizeof auxv_a);
  PROG_CHECK(readlink("/proc/self/exe", exe_a, sizeof exe_a - 1) > 0, "readlink");
  special_maps(maps_a, sizeof maps_a);
  PROG_CHECK(strcmp(stat_b, stat_a) == 0, "mm fields: %s -> %s", stat_b, stat_a);
  PROG_CHECK(memcmp(cmd_b, cmd_a, sizeof cmd_a) == 0, "cmdline changed");
  PROG_CHECK(memcmp(env_b, env_a, sizeof env_a) == 0, "environ changed");
  PROG_CHECK(memcmp(auxv_b, auxv_a, sizeof auxv_a) == 0, "auxv changed");
  PROG_CHECK(strcmp(exe_b, exe_a) == 0, "exe: %s -> %s", exe_b, exe_a);
  PROG_CHECK(strcmp(maps_b, maps_a) == 0, "vDSO/vvar moved:\n%s---\n%s", maps_b, maps_a);
  PROG_CHECK(sbrk(0) == brk_b, "brk moved");
  PROG_CHECK(getauxval(AT_RANDOM) == random_b, "AT_RANDOM");
  PROG_CHECK(strcmp(getenv("CRYO_TEST_ENV"), "survives") == 0, "environment variable");
  struct timespec a, b;
  PROG_CHECK(clock_gettime(CLOCK_MONOTONIC, &a) == 0 && clock_gettime(CLOCK_MONOTONIC, &b) == 0 &&
                 (b.tv_sec > a.tv_sec || (b.tv_sec == a.tv_sec && b.tv_nsec >= a.tv_nsec)),
             "vDSO clock_gettime");
  void* grown = sbrk(4096);
  PROG_CHECK(grown == brk_b, "brk cannot grow from where it was");
  prog_pass();
}
