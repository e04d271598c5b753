// A process in a time namespace of its own (unshare --time --monotonic
// --boottime --fork): after restore its clocks still carry the
// namespace's offsets (timens_offsets as they were, CLOCK_BOOTTIME well
// ahead of CLOCK_MONOTONIC) and its monotonic clock has not gone back.
#define _GNU_SOURCE
#include <fcntl.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "prog.h"

static double now(clockid_t c) {
  struct timespec ts;
  clock_gettime(c, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void offsets(char* out, size_t n) {
  int fd = open("/proc/self/timens_offsets", O_RDONLY);
  PROG_CHECK(fd >= 0, "open timens_offsets");
  ssize_t r = read(fd, out, n - 1);
  PROG_CHECK(r > 0, "read timens_offsets");
  out[r] = 0;
  close(fd);
}

int main(int argc, char** argv) {
  prog_init(argc, argv);
  char before[256], after[256];
  offsets(before, sizeof before);
  PROG_CHECK(strstr(before, "monotonic") && !strstr(before, "monotonic           0 "),
             "not in a time namespace with offsets: %s", before);
  double mono = now(CLOCK_MONOTONIC);
  double gap = now(CLOCK_BOOTTIME) - mono;
  prog_ready();
  prog_wait_go();
  offsets(after, sizeof after);
  PROG_CHECK(strcmp(before, after) == 0, "offsets were\n%s now\n%s", before, after);
  PROG_CHECK(now(CLOCK_MONOTONIC) >= mono, "the monotonic clock went back");
  double gap2 = now(CLOCK_BOOTTIME) - now(CLOCK_MONOTONIC);
  PROG_CHECK(gap2 > gap - 1 && gap2 < gap + 1, "boottime - monotonic was %.1f s, now %.1f s", gap, gap2);
  prog_pass();
}
