// 64 threads, each with its own blocked signal mask, name and nice value,
// parked in a barrier: after restore every thread has its own again, and
// the tids did not change.
#define _GNU_SOURCE
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <unistd.h>

#include "prog.h"

#define N 64
static pthread_barrier_t bar;
static pid_t tids[N];
static int ok[N];

static int sig_for(int i) { return SIGRTMIN + 2 + (i % 20); }

static void* worker(void* a) {
  int i = (int)(long)a;
  sigset_t s;
  sigemptyset(&s);
  sigaddset(&s, sig_for(i));
  if (i % 2) sigaddset(&s, SIGUSR1);
  pthread_sigmask(SIG_SETMASK, &s, NULL);
  char name[16];
  snprintf(name, sizeof name, "w%02d", i);
  prctl(PR_SET_NAME, name);
  setpriority(PRIO_PROCESS, 0, i % 10);
  tids[i] = gettid();
  pthread_barrier_wait(&bar);
  pthread_barrier_wait(&bar);
  sigset_t now;
  pthread_sigmask(SIG_SETMASK, NULL, &now);
  char got[16] = {0};
  prctl(PR_GET_NAME, got);
  ok[i] = sigismember(&now, sig_for(i)) && sigismember(&now, SIGUSR1) == (i % 2) && !strcmp(got, name) &&
          getpriority(PRIO_PROCESS, 0) == i % 10 && tids[i] == gettid();
  return NULL;
}

int main(int argc, char** argv) {
  prog_init(argc, argv);
  pthread_barrier_init(&bar, NULL, N + 1);
  pthread_t t[N];
  for (long i = 0; i < N; i++) PROG_CHECK(pthread_create(&t[i], NULL, worker, (void*)i) == 0, "thread %ld", i);
  pthread_barrier_wait(&bar);
  prog_ready();
  prog_wait_go();
  pthread_barrier_wait(&bar);
  for (int i = 0; i < N; i++) pthread_join(t[i], NULL);
  for (int i = 0; i < N; i++) PROG_CHECK(ok[i], "thread %d lost its mask, name, nice or tid", i);
  prog_pass();
}
