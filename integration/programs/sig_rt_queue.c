// Fifty blocked realtime signals queued with values, of three numbers: all
// stay queued across the dump, in order, none lost or repeated.
#define _GNU_SOURCE
#include <signal.h>
#include <unistd.h>

#include "prog.h"

int main(int argc, char** argv) {
  prog_init(argc, argv);
  sigset_t s;
  sigemptyset(&s);
  for (int k = 0; k < 3; k++) sigaddset(&s, SIGRTMIN + 10 + k);
  sigprocmask(SIG_BLOCK, &s, NULL);
  for (int i = 0; i < 50; i++) {
    union sigval v = {.sival_int = i};
    PROG_CHECK(sigqueue(getpid(), SIGRTMIN + 10 + i % 3, v) == 0, "sigqueue %d", i);
  }
  prog_ready();
  prog_wait_go();
  // Realtime signals come out lowest number first, FIFO within a number.
  int next[3] = {0, 1, 2};
  struct timespec zero = {0, 0};
  for (int n = 0; n < 50; n++) {
    siginfo_t si;
    int sig = sigtimedwait(&s, &si, &zero);
    PROG_CHECK(sig > 0, "only %d of 50 signals left", n);
    int k = sig - SIGRTMIN - 10;
    PROG_CHECK(si.si_value.sival_int == next[k], "signal %d: value %d, want %d", sig, si.si_value.sival_int, next[k]);
    next[k] += 3;
  }
  siginfo_t si;
  PROG_CHECK(sigtimedwait(&s, &si, &zero) < 0, "more than 50 signals");
  prog_pass();
}
