// Threads come and go all the time, also while the dump seizes them: the
// dump must catch the process whatever the churn, and after restore the
// long-lived threads still count and new threads can still be made.
#define _GNU_SOURCE
#include <pthread.h>
#include <stdatomic.h>
#include <unistd.h>

#include "prog.h"

static atomic_int stop;
static atomic_long counted[2];

static void* short_lived(void* a) { return a; }

static void* spawner(void* a) {
  (void)a;
  while (!atomic_load(&stop)) {
    pthread_t t;
    if (pthread_create(&t, NULL, short_lived, NULL) == 0) pthread_join(t, NULL);
  }
  return NULL;
}

static void* counter(void* a) {
  int i = (int)(long)a;
  while (!atomic_load(&stop)) {
    atomic_fetch_add(&counted[i], 1);
    usleep(1000);
  }
  return NULL;
}

int main(int argc, char** argv) {
  prog_init(argc, argv);
  pthread_t sp[2], ct[2];
  for (long i = 0; i < 2; i++) {
    PROG_CHECK(pthread_create(&sp[i], NULL, spawner, NULL) == 0, "spawner");
    PROG_CHECK(pthread_create(&ct[i], NULL, counter, (void*)i) == 0, "counter");
  }
  usleep(20000);
  prog_ready();
  prog_wait_go();
  long c0 = atomic_load(&counted[0]), c1 = atomic_load(&counted[1]);
  usleep(100000);
  PROG_CHECK(atomic_load(&counted[0]) > c0 && atomic_load(&counted[1]) > c1, "counters stopped");
  atomic_store(&stop, 1);
  for (int i = 0; i < 2; i++) {
    PROG_CHECK(pthread_join(sp[i], NULL) == 0, "join spawner");
    PROG_CHECK(pthread_join(ct[i], NULL) == 0, "join counter");
  }
  pthread_t t;
  PROG_CHECK(pthread_create(&t, NULL, short_lived, NULL) == 0 && pthread_join(t, NULL) == 0, "new thread");
  prog_pass();
}
