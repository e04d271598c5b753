// Pending signals with their siginfo: a shared one queued to the process
// with a value (sigqueue) and a private one queued to a thread (tgkill),
// both blocked when dumped. After restore each is still pending exactly
// once and sigwaitinfo returns the same si_value and si_code.
#define _GNU_SOURCE
#include <pthread.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>

#include "prog.h"

static pthread_barrier_t bar;
static volatile int thread_ok;
static pid_t thread_tid;

static void* worker(void* arg) {
  (void)arg;
  thread_tid = gettid();
  pthread_barrier_wait(&bar);  // main queues our signal
  pthread_barrier_wait(&bar);  // restored and go
  sigset_t s;
  sigemptyset(&s);
  sigaddset(&s, SIGRTMIN + 2);
  siginfo_t si;
  struct timespec zero = {0, 0};
  int sig = sigtimedwait(&s, &si, &zero);
  thread_ok = sig == SIGRTMIN + 2 && si.si_pid == getpid() && sigtimedwait(&s, &si, &zero) < 0;
  return NULL;
}

int main(int argc, char** argv) {
  prog_init(argc, argv);
  sigset_t block;
  sigemptyset(&block);
  sigaddset(&block, SIGUSR1);
  sigaddset(&block, SIGRTMIN + 2);
  PROG_CHECK(pthread_sigmask(SIG_BLOCK, &block, NULL) == 0, "block");
  pthread_barrier_init(&bar, NULL, 2);
  pthread_t th;
  PROG_CHECK(pthread_create(&th, NULL, worker, NULL) == 0, "thread");
  pthread_barrier_wait(&bar);
  union sigval v = {.sival_int = 4242};
  PROG_CHECK(sigqueue(getpid(), SIGUSR1, v) == 0, "sigqueue");
  PROG_CHECK(tgkill(getpid(), thread_tid, SIGRTMIN + 2) == 0, "tgkill");
  prog_ready();
  prog_wait_go();
  pthread_barrier_wait(&bar);
  pthread_join(th, NULL);
  PROG_CHECK(thread_ok, "the thread's private signal was lost");
  sigset_t s;
  sigemptyset(&s);
  sigaddset(&s, SIGUSR1);
  siginfo_t si;
  struct timespec zero = {0, 0};
  int sig = sigtimedwait(&s, &si, &zero);
  PROG_CHECK(sig == SIGUSR1, "shared SIGUSR1 lost");
  PROG_CHECK(si.si_code == SI_QUEUE && si.si_value.sival_int == 4242 && si.si_pid == getpid(),
             "siginfo changed: code %d value %d pid %d", si.si_code, si.si_value.sival_int, si.si_pid);
  PROG_CHECK(sigtimedwait(&s, &si, &zero) < 0, "SIGUSR1 pending twice");
  prog_pass();
}
