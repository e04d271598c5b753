// Eight threads, each with its own TLS value, stack data and tid, blocked
// in a futex wait (pthread_cond_wait) when dumped. After restore each wakes,
// checks its state, and the main thread joins them all (which needs the
// clear-tid address and futexes to work).
#define _GNU_SOURCE
#include <pthread.h>
#include <stdint.h>
#include <unistd.h>

#include "prog.h"

#define N 8
static __thread uint64_t tls_value;
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
static int started, go;
static pid_t tids[N];
static int ok[N];

static void* worker(void* arg) {
  int i = (int)(intptr_t)arg;
  volatile uint64_t on_stack[64];
  for (int k = 0; k < 64; k++) on_stack[k] = (uint64_t)i * 1000 + (uint64_t)k;
  tls_value = 0xabc000 + (uint64_t)i;
  tids[i] = gettid();
  pthread_mutex_lock(&mu);
  started++;
  pthread_cond_broadcast(&cv);
  while (!go) pthread_cond_wait(&cv, &mu);
  pthread_mutex_unlock(&mu);
  int good = tls_value == 0xabc000 + (uint64_t)i && tids[i] == gettid();
  for (int k = 0; k < 64; k++) good &= on_stack[k] == (uint64_t)i * 1000 + (uint64_t)k;
  ok[i] = good;
  return NULL;
}

int main(int argc, char** argv) {
  prog_init(argc, argv);
  pthread_t th[N];
  tls_value = 42;
  for (int i = 0; i < N; i++)
    PROG_CHECK(pthread_create(&th[i], NULL, worker, (void*)(intptr_t)i) == 0, "pthread_create");
  pthread_mutex_lock(&mu);
  while (started < N) pthread_cond_wait(&cv, &mu);
  pthread_mutex_unlock(&mu);
  prog_ready();
  prog_wait_go();
  pthread_mutex_lock(&mu);
  go = 1;
  pthread_cond_broadcast(&cv);
  pthread_mutex_unlock(&mu);
  for (int i = 0; i < N; i++) PROG_CHECK(pthread_join(th[i], NULL) == 0, "join %d", i);
  for (int i = 0; i < N; i++) PROG_CHECK(ok[i], "thread %d lost its state", i);
  PROG_CHECK(tls_value == 42, "main TLS lost");
  prog_pass();
}
