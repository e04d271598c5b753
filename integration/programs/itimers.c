// ITIMER_REAL and ITIMER_VIRTUAL armed with intervals: after restore the
// intervals are identical, the remaining time is not larger than the
// interval, and SIGALRM still arrives.
#define _GNU_SOURCE
#include <signal.h>
#include <sys/time.h>
#include <time.h>

#include "prog.h"

static volatile sig_atomic_t alarms;
static void on_alarm(int s) { (void)s; alarms++; }

int main(int argc, char** argv) {
  prog_init(argc, argv);
  signal(SIGALRM, on_alarm);
  signal(SIGVTALRM, SIG_IGN);
  struct itimerval real = {{0, 300000}, {3, 0}}, virt = {{7, 0}, {9, 500000}};
  PROG_CHECK(setitimer(ITIMER_REAL, &real, NULL) == 0, "setitimer real");
  PROG_CHECK(setitimer(ITIMER_VIRTUAL, &virt, NULL) == 0, "setitimer virtual");
  prog_ready();
  prog_wait_go();
  struct itimerval r, v;
  getitimer(ITIMER_REAL, &r);
  getitimer(ITIMER_VIRTUAL, &v);
  PROG_CHECK(r.it_interval.tv_sec == 0 && r.it_interval.tv_usec == 300000, "real interval changed");
  PROG_CHECK(v.it_interval.tv_sec == 7 && v.it_interval.tv_usec == 0, "virtual interval changed");
  PROG_CHECK(r.it_value.tv_sec < 3 || (r.it_value.tv_sec == 3 && r.it_value.tv_usec == 0) || alarms > 0,
             "real timer value grew");
  PROG_CHECK(r.it_value.tv_sec != 0 || r.it_value.tv_usec != 0, "real timer disarmed");
  PROG_CHECK(v.it_value.tv_sec <= 9 && (v.it_value.tv_sec != 0 || v.it_value.tv_usec != 0), "virtual timer value");
  int before = alarms;
  struct timespec t = {0, 50000000};
  for (int i = 0; i < 200 && alarms == before; i++) nanosleep(&t, NULL);
  PROG_CHECK(alarms > before, "SIGALRM no longer comes");
  prog_pass();
}
