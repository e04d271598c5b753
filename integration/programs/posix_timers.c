// POSIX timers on several clocks, with signal values and a thread target:
// after restore the same timer ids exist with the same intervals,
// /proc/self/timers reads the same, and the periodic timer's signal still
// arrives carrying its value.
#define _GNU_SOURCE
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "prog.h"

static volatile sig_atomic_t hits;
static volatile int last_value;
static void on_timer(int s, siginfo_t* si, void* c) {
  (void)s;
  (void)c;
  hits++;
  last_value = si->si_value.sival_int;
}

static void timers_text(char* out, size_t n) {
  FILE* f = fopen("/proc/self/timers", "r");
  size_t used = fread(out, 1, n - 1, f);
  out[used] = 0;
  fclose(f);
}

int main(int argc, char** argv) {
  prog_init(argc, argv);
  struct sigaction sa = {0};
  sa.sa_sigaction = on_timer;
  sa.sa_flags = SA_SIGINFO | SA_RESTART;
  sigaction(SIGRTMIN + 1, &sa, NULL);
  timer_t t[3];
  struct sigevent se = {0};
  se.sigev_notify = SIGEV_SIGNAL;
  se.sigev_signo = SIGRTMIN + 1;
  se.sigev_value.sival_int = 777;
  PROG_CHECK(timer_create(CLOCK_MONOTONIC, &se, &t[0]) == 0, "timer 0");
  se.sigev_value.sival_int = 888;
  se.sigev_notify = SIGEV_THREAD_ID;
  se._sigev_un._tid = gettid();
  PROG_CHECK(timer_create(CLOCK_REALTIME, &se, &t[1]) == 0, "timer 1");
  se.sigev_notify = SIGEV_NONE;
  PROG_CHECK(timer_create(CLOCK_BOOTTIME, &se, &t[2]) == 0, "timer 2");
  struct itimerspec periodic = {{0, 200000000}, {0, 200000000}}, slow = {{600, 0}, {500, 0}};
  PROG_CHECK(timer_settime(t[0], 0, &periodic, NULL) == 0, "settime 0");
  PROG_CHECK(timer_settime(t[1], 0, &slow, NULL) == 0, "settime 1");
  PROG_CHECK(timer_settime(t[2], 0, &slow, NULL) == 0, "settime 2");
  static char before[4096], after[4096];
  timers_text(before, sizeof before);
  prog_ready();
  prog_wait_go();
  timers_text(after, sizeof after);
  PROG_CHECK(strcmp(before, after) == 0, "/proc/self/timers changed:\n%s\n---\n%s", before, after);
  for (int i = 0; i < 3; i++) {
    struct itimerspec cur;
    PROG_CHECK(timer_gettime(t[i], &cur) == 0, "timer %d is gone", i);
    struct itimerspec want = i == 0 ? periodic : slow;
    PROG_CHECK(cur.it_interval.tv_sec == want.it_interval.tv_sec &&
                   cur.it_interval.tv_nsec == want.it_interval.tv_nsec,
               "timer %d interval changed", i);
    PROG_CHECK(cur.it_value.tv_sec <= want.it_value.tv_sec, "timer %d value grew", i);
    PROG_CHECK(cur.it_value.tv_sec != 0 || cur.it_value.tv_nsec != 0, "timer %d disarmed", i);
  }
  int h = hits;
  struct timespec nap = {0, 50000000};
  for (int i = 0; i < 100 && hits == h; i++) nanosleep(&nap, NULL);
  PROG_CHECK(hits > h && last_value == 777, "periodic timer signal: %d hits, value %d", hits - h, last_value);
  prog_pass();
}
