// A relative CLOCK_MONOTONIC timerfd armed for 3 s with a 1 s interval.
// After restore timerfd_gettime shows it still armed, with no more than
// 3 s left and the 1 s interval; it then expires when gettime said it
// would, and again an interval later. (Time spent dumped may shift a
// relative timer; expirations already due are only counted.)
#define _GNU_SOURCE
#include <poll.h>
#include <stdint.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include "prog.h"

static double ts(struct timespec t) { return (double)t.tv_sec + (double)t.tv_nsec / 1e9; }

static double now(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return ts(t);
}

// Blocks until the timer fires; returns the seconds it took.
static double wait_expiry(int fd) {
  double t0 = now();
  uint64_t ticks = 0;
  PROG_CHECK(read(fd, &ticks, 8) == 8 && ticks >= 1, "read timerfd");
  return now() - t0;
}

int main(int argc, char** argv) {
  prog_init(argc, argv);
  int fd = timerfd_create(CLOCK_MONOTONIC, 0);
  PROG_CHECK(fd >= 0, "timerfd_create");
  struct itimerspec its = {.it_interval = {1, 0}, .it_value = {3, 0}};
  PROG_CHECK(timerfd_settime(fd, 0, &its, NULL) == 0, "timerfd_settime");
  prog_ready();
  prog_wait_go();
  struct itimerspec cur;
  PROG_CHECK(timerfd_gettime(fd, &cur) == 0, "timerfd_gettime");
  PROG_CHECK(cur.it_interval.tv_sec == 1 && cur.it_interval.tv_nsec == 0, "interval %.3f s, want 1",
             ts(cur.it_interval));
  PROG_CHECK(ts(cur.it_value) > 0, "the timer is disarmed");
  PROG_CHECK(ts(cur.it_value) <= 3.0, "%.3f s left of a 3 s timer", ts(cur.it_value));
  struct pollfd pf = {.fd = fd, .events = POLLIN};
  if (poll(&pf, 1, 0) == 1) {  // expirations already due: take them
    uint64_t ticks = 0;
    PROG_CHECK(read(fd, &ticks, 8) == 8 && ticks >= 1, "read due expirations");
    PROG_CHECK(timerfd_gettime(fd, &cur) == 0 && ts(cur.it_value) > 0 && ts(cur.it_value) <= 1.0,
               "%.3f s to the next tick of a 1 s interval", ts(cur.it_value));
  }
  double left = ts(cur.it_value), took = wait_expiry(fd);
  PROG_CHECK(took > left - 0.05 && took < left + 0.3, "expired after %.3f s, gettime said %.3f", took, left);
  took = wait_expiry(fd);
  PROG_CHECK(took > 0.9 && took < 1.3, "next tick after %.3f s, interval 1 s", took);
  prog_pass();
}
