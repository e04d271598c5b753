// SIGTRAP handled by the program: a handler with SA_SIGINFO, and SIGTRAP
// blocked in a second thread (the main thread leaves it open). cryo's
// breakpoints raise SIGTRAP in the task as it works; the kernel would
// reset a blocked SIGTRAP's handler and unblock it. After restore the
// handler and both masks are as they were, and a SIGTRAP the main thread
// raises reaches the handler.
#define _GNU_SOURCE
#include <pthread.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>

#include "prog.h"

static volatile sig_atomic_t traps;
static void on_trap(int s, siginfo_t* si, void* uc) {
  (void)s;
  (void)si;
  (void)uc;
  traps++;
}

static pthread_barrier_t bar;
static int thread_blocked;

static void* worker(void* a) {
  (void)a;
  sigset_t m;
  sigemptyset(&m);
  sigaddset(&m, SIGTRAP);
  pthread_sigmask(SIG_BLOCK, &m, NULL);
  pthread_barrier_wait(&bar);
  pthread_barrier_wait(&bar);
  sigset_t now;
  pthread_sigmask(SIG_BLOCK, NULL, &now);
  thread_blocked = sigismember(&now, SIGTRAP);
  return NULL;
}

int main(int argc, char** argv) {
  prog_init(argc, argv);
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_sigaction = on_trap;
  sa.sa_flags = SA_SIGINFO | SA_RESTART;
  sigemptyset(&sa.sa_mask);
  PROG_CHECK(sigaction(SIGTRAP, &sa, NULL) == 0, "sigaction");
  pthread_barrier_init(&bar, NULL, 2);
  pthread_t t;
  PROG_CHECK(pthread_create(&t, NULL, worker, NULL) == 0, "thread");
  pthread_barrier_wait(&bar);
  prog_ready();
  prog_wait_go();
  pthread_barrier_wait(&bar);
  pthread_join(t, NULL);
  struct sigaction now;
  PROG_CHECK(sigaction(SIGTRAP, NULL, &now) == 0, "sigaction get");
  PROG_CHECK(now.sa_sigaction == on_trap && (now.sa_flags & SA_SIGINFO), "SIGTRAP handler lost: %p flags %#x",
             (void*)now.sa_sigaction, now.sa_flags);
  PROG_CHECK(thread_blocked, "the thread's SIGTRAP is no longer blocked");
  sigset_t mine;
  sigprocmask(SIG_BLOCK, NULL, &mine);
  PROG_CHECK(!sigismember(&mine, SIGTRAP), "the main thread's SIGTRAP became blocked");
  PROG_CHECK(traps == 0, "%d SIGTRAP(s) reached the handler during the dump", (int)traps);
  raise(SIGTRAP);
  PROG_CHECK(traps == 1, "raised SIGTRAP: handler ran %d times", (int)traps);
  prog_pass();
}
