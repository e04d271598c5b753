// SCHED_RESET_ON_FORK kept with the policy it flags: a thread in
// SCHED_RR priority 3 with the flag, the main thread in SCHED_OTHER with
// it, a third thread in SCHED_FIFO 2 without. After restore each reports
// exactly its policy (flag included) and priority, and a child forked by
// the flagged main thread starts in plain SCHED_OTHER.
#define _GNU_SOURCE
#include <pthread.h>
#include <sched.h>
#include <sys/wait.h>
#include <unistd.h>

#include "prog.h"

static pthread_barrier_t bar;
static int got_policy[2], got_prio[2];
static const int policies[2] = {SCHED_RR | SCHED_RESET_ON_FORK, SCHED_FIFO};
static const int prios[2] = {3, 2};

static void* worker(void* a) {
  int i = (int)(long)a;
  struct sched_param sp = {prios[i]};
  int r = sched_setscheduler(0, policies[i], &sp);
  pthread_barrier_wait(&bar);
  pthread_barrier_wait(&bar);
  struct sched_param now = {0};
  sched_getparam(0, &now);
  got_policy[i] = r == 0 ? sched_getscheduler(0) : -1;
  got_prio[i] = now.sched_priority;
  return NULL;
}

int main(int argc, char** argv) {
  prog_init(argc, argv);
  struct sched_param zero = {0};
  PROG_CHECK(sched_setscheduler(0, SCHED_OTHER | SCHED_RESET_ON_FORK, &zero) == 0, "main: reset-on-fork");
  pthread_barrier_init(&bar, NULL, 3);
  pthread_t t[2];
  for (long i = 0; i < 2; i++) PROG_CHECK(pthread_create(&t[i], NULL, worker, (void*)i) == 0, "thread");
  pthread_barrier_wait(&bar);
  prog_ready();
  prog_wait_go();
  pthread_barrier_wait(&bar);
  for (int i = 0; i < 2; i++) pthread_join(t[i], NULL);
  for (int i = 0; i < 2; i++)
    PROG_CHECK(got_policy[i] == policies[i] && got_prio[i] == prios[i],
               "thread %d: policy %#x prio %d, want %#x prio %d", i, got_policy[i], got_prio[i], policies[i],
               prios[i]);
  int mine = sched_getscheduler(0);
  PROG_CHECK(mine == (SCHED_OTHER | SCHED_RESET_ON_FORK), "main: policy %#x, want SCHED_OTHER|RESET_ON_FORK", mine);
  pid_t c = fork();
  PROG_CHECK(c >= 0, "fork");
  if (c == 0) _exit(sched_getscheduler(0) == SCHED_OTHER ? 0 : 1);
  int st;
  PROG_CHECK(waitpid(c, &st, 0) == c && WIFEXITED(st) && WEXITSTATUS(st) == 0, "child kept the flag: %#x", st);
  prog_pass();
}
