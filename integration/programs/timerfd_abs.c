// An absolute CLOCK_REALTIME timerfd (TFD_TIMER_ABSTIME), one-shot, set
// to fire 4 s after it was armed. After restore it still fires at that
// wall-clock time: timerfd_gettime shows the time left to the deadline
// (if it has not passed yet) and read returns when the deadline comes.
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
  clock_gettime(CLOCK_REALTIME, &t);
  return ts(t);
}

int main(int argc, char** argv) {
  prog_init(argc, argv);
  int fd = timerfd_create(CLOCK_REALTIME, 0);
  PROG_CHECK(fd >= 0, "timerfd_create");
  struct itimerspec its = {0};
  PROG_CHECK(clock_gettime(CLOCK_REALTIME, &its.it_value) == 0, "clock_gettime");
  its.it_value.tv_sec += 4;
  double deadline = ts(its.it_value);
  PROG_CHECK(timerfd_settime(fd, TFD_TIMER_ABSTIME, &its, NULL) == 0, "timerfd_settime");
  prog_ready();
  prog_wait_go();
  struct itimerspec cur;
  double t = now();
  PROG_CHECK(timerfd_gettime(fd, &cur) == 0, "timerfd_gettime");
  PROG_CHECK(ts(cur.it_interval) == 0, "interval %.3f s on a one-shot timer", ts(cur.it_interval));
  struct pollfd pf = {.fd = fd, .events = POLLIN};
  if (t < deadline - 0.05) {
    PROG_CHECK(ts(cur.it_value) > 0, "the timer is disarmed %.3f s before its deadline", deadline - t);
    PROG_CHECK(ts(cur.it_value) <= 4.0, "%.3f s left of a 4 s timer", ts(cur.it_value));
    PROG_CHECK(ts(cur.it_value) > deadline - t - 0.1 && ts(cur.it_value) < deadline - t + 0.1,
               "%.3f s left, the deadline is %.3f s away", ts(cur.it_value), deadline - t);
    PROG_CHECK(poll(&pf, 1, 0) == 0, "expired %.3f s early", deadline - t);
  }
  int wait_ms = t < deadline ? (int)((deadline - t) * 1000) + 1000 : 1000;
  PROG_CHECK(poll(&pf, 1, wait_ms) == 1, "not fired %.3f s after the deadline", now() - deadline);
  uint64_t ticks = 0;
  PROG_CHECK(read(fd, &ticks, 8) == 8 && ticks == 1, "read timerfd: %llu expirations", (unsigned long long)ticks);
  t = now();
  PROG_CHECK(t > deadline - 0.05, "expired %.3f s before the deadline", deadline - t);
  PROG_CHECK(t < deadline + 0.3 || ts(cur.it_value) == 0, "expired %.3f s after the deadline", t - deadline);
  PROG_CHECK(timerfd_gettime(fd, &cur) == 0 && ts(cur.it_value) == 0, "still armed after it fired");
  PROG_CHECK(poll(&pf, 1, 0) == 0, "expired twice");
  prog_pass();
}
