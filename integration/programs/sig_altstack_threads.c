// Each of four threads has its own sigaltstack (one with SS_AUTODISARM);
// after restore each still has it and a handler run by tgkill lands on it.
#define _GNU_SOURCE
#include <pthread.h>
#include <signal.h>
#include <unistd.h>

#ifndef SS_AUTODISARM
#define SS_AUTODISARM (1U << 31)  /* Linux 4.7; not in glibc 2.36 headers */
#endif

#include "prog.h"

#define N 4
#define SZ (64 * 1024)
static char stacks[N][SZ];
static pthread_barrier_t bar;
static __thread int my_index;
static volatile int landed[N], ok[N];

static void on_sig(int s) {
  (void)s;
  char probe;
  int i = my_index;
  landed[i] = &probe >= stacks[i] && &probe < stacks[i] + SZ;
}

static void* worker(void* a) {
  int i = (int)(long)a;
  my_index = i;
  stack_t ss = {.ss_sp = stacks[i], .ss_size = SZ, .ss_flags = i == 3 ? SS_AUTODISARM : 0};
  sigaltstack(&ss, NULL);
  pthread_barrier_wait(&bar);
  pthread_barrier_wait(&bar);
  stack_t now;
  sigaltstack(NULL, &now);
  ok[i] = now.ss_sp == stacks[i] && now.ss_size == SZ && (now.ss_flags & SS_AUTODISARM) == (i == 3 ? SS_AUTODISARM : 0);
  raise(SIGUSR1);
  return NULL;
}

int main(int argc, char** argv) {
  prog_init(argc, argv);
  struct sigaction sa = {0};
  sa.sa_handler = on_sig;
  sa.sa_flags = SA_ONSTACK;
  sigaction(SIGUSR1, &sa, NULL);
  pthread_barrier_init(&bar, NULL, N + 1);
  pthread_t t[N];
  for (long i = 0; i < N; i++) PROG_CHECK(pthread_create(&t[i], NULL, worker, (void*)i) == 0, "thread");
  pthread_barrier_wait(&bar);
  prog_ready();
  prog_wait_go();
  pthread_barrier_wait(&bar);
  for (int i = 0; i < N; i++) pthread_join(t[i], NULL);
  for (int i = 0; i < N; i++) {
    PROG_CHECK(ok[i], "thread %d sigaltstack changed", i);
    PROG_CHECK(landed[i], "thread %d handler not on its stack", i);
  }
  prog_pass();
}
