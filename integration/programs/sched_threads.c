// Scheduling classes per thread: SCHED_FIFO priority 5, SCHED_RR 3,
// SCHED_IDLE, SCHED_BATCH with nice 4: each thread keeps its own.
#define _GNU_SOURCE
#include <pthread.h>
#include <sched.h>
#include <sys/resource.h>

#include "prog.h"

static pthread_barrier_t bar;
static int ok[4];
static const int policies[4] = {SCHED_FIFO, SCHED_RR, SCHED_IDLE, SCHED_BATCH};
static const int prios[4] = {5, 3, 0, 0};

static void* worker(void* a) {
  int i = (int)(long)a;
  struct sched_param sp = {prios[i]};
  int r = sched_setscheduler(0, policies[i], &sp);
  if (i == 3) setpriority(PRIO_PROCESS, 0, 4);
  pthread_barrier_wait(&bar);
  pthread_barrier_wait(&bar);
  struct sched_param now;
  sched_getparam(0, &now);
  ok[i] = r == 0 && sched_getscheduler(0) == policies[i] && now.sched_priority == prios[i] &&
          (i != 3 || getpriority(PRIO_PROCESS, 0) == 4);
  return NULL;
}

int main(int argc, char** argv) {
  prog_init(argc, argv);
  pthread_barrier_init(&bar, NULL, 5);
  pthread_t t[4];
  for (long i = 0; i < 4; i++) PROG_CHECK(pthread_create(&t[i], NULL, worker, (void*)i) == 0, "thread");
  pthread_barrier_wait(&bar);
  prog_ready();
  prog_wait_go();
  pthread_barrier_wait(&bar);
  for (int i = 0; i < 4; i++) pthread_join(t[i], NULL);
  for (int i = 0; i < 4; i++) PROG_CHECK(ok[i], "thread %d lost its scheduling policy %d", i, policies[i]);
  prog_pass();
}
