// Signal handlers, flags and masks for many signals (RT ones too), SIG_IGN
// ones, and the blocked mask: all identical after restore, and a handler
// still runs when its signal comes.
#define _GNU_SOURCE
#include <signal.h>
#include <string.h>

#include "prog.h"

static volatile sig_atomic_t got;
static void on_usr1(int s) { got = s; }
static void on_rt(int s, siginfo_t* i, void* c) { (void)i; (void)c; got = s; }

int main(int argc, char** argv) {
  prog_init(argc, argv);
  struct sigaction a = {0};
  a.sa_handler = on_usr1;
  a.sa_flags = SA_RESTART;
  sigemptyset(&a.sa_mask);
  sigaddset(&a.sa_mask, SIGUSR2);
  PROG_CHECK(sigaction(SIGUSR1, &a, NULL) == 0, "sigaction USR1");
  struct sigaction r = {0};
  r.sa_sigaction = on_rt;
  r.sa_flags = SA_SIGINFO | SA_NODEFER;
  sigemptyset(&r.sa_mask);
  sigaddset(&r.sa_mask, SIGRTMIN + 5);
  PROG_CHECK(sigaction(SIGRTMIN + 3, &r, NULL) == 0, "sigaction RT");
  PROG_CHECK(signal(SIGHUP, SIG_IGN) != SIG_ERR, "ignore HUP");
  sigset_t block;
  sigemptyset(&block);
  sigaddset(&block, SIGUSR2);
  sigaddset(&block, SIGRTMIN + 7);
  PROG_CHECK(sigprocmask(SIG_BLOCK, &block, NULL) == 0, "block");
  struct sigaction before[65];
  int known[65] = {0};  // glibc keeps 32 and 33 to itself
  for (int s = 1; s <= 64; s++) known[s] = sigaction(s, NULL, &before[s]) == 0;
  prog_ready();
  prog_wait_go();
  for (int s = 1; s <= 64; s++) {
    struct sigaction now;
    if (!known[s]) continue;
    sigaction(s, NULL, &now);
    PROG_CHECK(now.sa_handler == before[s].sa_handler, "signal %d handler changed", s);
    PROG_CHECK(now.sa_flags == before[s].sa_flags, "signal %d flags %#x, were %#x", s, now.sa_flags,
               before[s].sa_flags);
    PROG_CHECK(memcmp(&now.sa_mask, &before[s].sa_mask, 8) == 0, "signal %d mask changed", s);
  }
  sigset_t cur;
  sigprocmask(SIG_BLOCK, NULL, &cur);
  PROG_CHECK(sigismember(&cur, SIGUSR2) && sigismember(&cur, SIGRTMIN + 7), "blocked mask lost");
  PROG_CHECK(!sigismember(&cur, SIGUSR1), "USR1 became blocked");
  raise(SIGUSR1);
  PROG_CHECK(got == SIGUSR1, "USR1 handler did not run");
  raise(SIGRTMIN + 3);
  PROG_CHECK(got == SIGRTMIN + 3, "RT handler did not run");
  raise(SIGHUP);  // ignored: still alive
  prog_pass();
}
