// A child holds a periodic CLOCK_MONOTONIC timerfd (200 ms interval) that
// has expired at least once unread at dump time. After restore the child
// reads at least that many expirations, the interval is still 200 ms, and
// the timer keeps firing (two more expirations within 2 s).
#define _GNU_SOURCE
#include <poll.h>
#include <stdint.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include "prog.h"

int main(int argc, char** argv) {
  prog_init(argc, argv);
  pid_t c = prog_fork_child(0);
  if (c == 0) {
    int t = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC);
    PROG_CHECK(t >= 0, "timerfd_create");
    struct itimerspec its = {.it_interval = {0, 200 * 1000 * 1000}, .it_value = {0, 50 * 1000 * 1000}};
    PROG_CHECK(timerfd_settime(t, 0, &its, NULL) == 0, "timerfd_settime");
    struct timespec wait = {0, 300 * 1000 * 1000};
    nanosleep(&wait, NULL);  // at least one expiration, not read
    prog_child_ready(0);
    prog_wait_go();
    uint64_t n = 0;
    PROG_CHECK(read(t, &n, sizeof n) == sizeof n && n >= 1, "child: %llu expirations, want at least 1",
               (unsigned long long)n);
    struct itimerspec now;
    PROG_CHECK(timerfd_gettime(t, &now) == 0, "timerfd_gettime");
    PROG_CHECK(now.it_interval.tv_sec == 0 && now.it_interval.tv_nsec == 200 * 1000 * 1000,
               "child: interval %ld.%09ld, want 0.2", (long)now.it_interval.tv_sec, now.it_interval.tv_nsec);
    uint64_t more = 0;
    for (int k = 0; k < 2; k++) {
      struct pollfd p = {.fd = t, .events = POLLIN};
      PROG_CHECK(poll(&p, 1, 2000) == 1, "child: the timer stopped firing");
      PROG_CHECK(read(t, &n, sizeof n) == sizeof n, "child: read");
      more += n;
    }
    PROG_CHECK(more >= 2, "child: %llu more expirations", (unsigned long long)more);
    prog_pass();
  }
  prog_wait_children_ready(1);
  prog_ready();
  prog_wait_go();
  prog_check_child(c, 0);
  prog_pass();
}
