// Three child processes, each with four threads blocked on a condition
// variable at dump time; every thread has its own TLS value and recorded
// tid. After restore each child wakes its threads, which check TLS and
// gettid(); the child joins them and exits 0, and the root reaps all.
#define _GNU_SOURCE
#include <pthread.h>
#include <stdint.h>
#include <unistd.h>

#include "prog.h"

#define NPROC 3
#define NTHR 4

static __thread uint64_t tls_value;
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
static int started, go, proc_index;
static pid_t tids[NTHR];
static int ok[NTHR];

static uint64_t tls_for(int t) { return 0x7700000000ull + (uint64_t)proc_index * 100 + (uint64_t)t; }

static void* worker(void* arg) {
  int t = (int)(intptr_t)arg;
  tls_value = tls_for(t);
  tids[t] = gettid();
  pthread_mutex_lock(&mu);
  started++;
  pthread_cond_broadcast(&cv);
  while (!go) pthread_cond_wait(&cv, &mu);
  pthread_mutex_unlock(&mu);
  ok[t] = tls_value == tls_for(t) && tids[t] == gettid() && getpid() != gettid();
  return NULL;
}

static _Noreturn void child(int i) {
  proc_index = i;
  tls_value = tls_for(99);
  pthread_t th[NTHR];
  for (int t = 0; t < NTHR; t++)
    PROG_CHECK(pthread_create(&th[t], NULL, worker, (void*)(intptr_t)t) == 0, "pthread_create");
  pthread_mutex_lock(&mu);
  while (started < NTHR) pthread_cond_wait(&cv, &mu);
  pthread_mutex_unlock(&mu);
  prog_child_ready(i);
  prog_wait_go();
  pthread_mutex_lock(&mu);
  go = 1;
  pthread_cond_broadcast(&cv);
  pthread_mutex_unlock(&mu);
  for (int t = 0; t < NTHR; t++) PROG_CHECK(pthread_join(th[t], NULL) == 0, "join %d", t);
  for (int t = 0; t < NTHR; t++) PROG_CHECK(ok[t], "thread %d (tid %d) lost its state", t, tids[t]);
  PROG_CHECK(tls_value == tls_for(99), "main thread TLS lost");
  prog_pass();
}

int main(int argc, char** argv) {
  prog_init(argc, argv);
  pid_t kids[NPROC];
  for (int i = 0; i < NPROC; i++) {
    kids[i] = prog_fork_child(i);
    if (kids[i] == 0) child(i);
  }
  prog_wait_children_ready(NPROC);
  prog_ready();
  prog_wait_go();
  for (int i = 0; i < NPROC; i++) prog_check_child(kids[i], i);
  prog_pass();
}
