// Per-process and per-thread odds and ends: comm of the process and of a
// thread, nice value, SCHED_BATCH on a thread, oom_score_adj, dumpable,
// child subreaper, parent-death signal, personality, sigaltstack (and a
// handler that runs on it), a MAP_SHARED file mapping whose writes still
// reach the file, an O_PATH fd, lowered rlimits.
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/personality.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <unistd.h>

#include "prog.h"

static pthread_barrier_t bar;
static int thread_ok;
static char altstack[64 * 1024];
static volatile int on_alt;

static void on_usr2(int s) {
  (void)s;
  char probe;
  on_alt = &probe >= altstack && &probe < altstack + sizeof altstack;
}

static void* worker(void* a) {
  (void)a;
  prctl(PR_SET_NAME, "cryo-worker");
  struct sched_param sp = {0};
  sched_setscheduler(0, SCHED_BATCH, &sp);
  pthread_barrier_wait(&bar);
  pthread_barrier_wait(&bar);
  char name[32] = {0};
  prctl(PR_GET_NAME, name);
  thread_ok = strcmp(name, "cryo-worker") == 0 && sched_getscheduler(0) == SCHED_BATCH;
  return NULL;
}

int main(int argc, char** argv) {
  prog_init(argc, argv);
  PROG_CHECK(prctl(PR_SET_NAME, "cryo-main") == 0, "name");
  PROG_CHECK(setpriority(PRIO_PROCESS, 0, 7) == 0, "nice");
  FILE* f = fopen("/proc/self/oom_score_adj", "w");
  PROG_CHECK(f && fprintf(f, "345") > 0 && fclose(f) == 0, "oom_score_adj");
  PROG_CHECK(prctl(PR_SET_DUMPABLE, 0) == 0, "dumpable");
  PROG_CHECK(prctl(PR_SET_CHILD_SUBREAPER, 1) == 0, "subreaper");
  // The restorer exits after restore: its death would deliver this signal.
  signal(SIGUSR1, SIG_IGN);
  PROG_CHECK(prctl(PR_SET_PDEATHSIG, SIGUSR1) == 0, "pdeathsig");
  PROG_CHECK(personality(ADDR_NO_RANDOMIZE | READ_IMPLIES_EXEC) != -1, "personality");
  stack_t ss = {.ss_sp = altstack, .ss_size = sizeof altstack, .ss_flags = 0};
  PROG_CHECK(sigaltstack(&ss, NULL) == 0, "sigaltstack");
  struct sigaction sa = {0};
  sa.sa_handler = on_usr2;
  sa.sa_flags = SA_ONSTACK;
  sigaction(SIGUSR2, &sa, NULL);
  int fd = open("shared.bin", O_RDWR | O_CREAT, 0644);
  PROG_CHECK(fd >= 0 && ftruncate(fd, 8192) == 0, "file");
  char* m = mmap(NULL, 8192, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  PROG_CHECK(m != MAP_FAILED, "mmap shared");
  strcpy(m, "before");
  int opath = open(".", O_PATH);
  PROG_CHECK(opath >= 0, "O_PATH");
  struct rlimit nofile = {512, 1000};
  PROG_CHECK(setrlimit(RLIMIT_NOFILE, &nofile) == 0, "rlimit");
  pthread_barrier_init(&bar, NULL, 2);
  pthread_t th;
  PROG_CHECK(pthread_create(&th, NULL, worker, NULL) == 0, "thread");
  pthread_barrier_wait(&bar);
  prog_ready();
  prog_wait_go();
  pthread_barrier_wait(&bar);
  pthread_join(th, NULL);
  PROG_CHECK(thread_ok, "thread name or policy lost");
  char name[32] = {0};
  prctl(PR_GET_NAME, name);
  PROG_CHECK(strcmp(name, "cryo-main") == 0, "comm %s", name);
  errno = 0;
  PROG_CHECK(getpriority(PRIO_PROCESS, 0) == 7, "nice");
  f = fopen("/proc/self/oom_score_adj", "r");
  int oom = 0;
  PROG_CHECK(f && fscanf(f, "%d", &oom) == 1 && oom == 345, "oom_score_adj %d", oom);
  fclose(f);
  PROG_CHECK(prctl(PR_GET_DUMPABLE) == 0, "dumpable");
  int sub = 0, pd = 0;
  prctl(PR_GET_CHILD_SUBREAPER, &sub);
  prctl(PR_GET_PDEATHSIG, &pd);
  PROG_CHECK(sub == 1, "subreaper");
  PROG_CHECK(pd == SIGUSR1, "pdeathsig %d", pd);
  PROG_CHECK(personality(0xffffffff) == (ADDR_NO_RANDOMIZE | READ_IMPLIES_EXEC), "personality");
  stack_t now;
  PROG_CHECK(sigaltstack(NULL, &now) == 0 && now.ss_sp == altstack && now.ss_size == sizeof altstack, "sigaltstack");
  raise(SIGUSR2);
  PROG_CHECK(on_alt, "handler did not run on the alternate stack");
  PROG_CHECK(strcmp(m, "before") == 0, "shared mapping content");
  strcpy(m, "after");
  char back[8] = {0};
  PROG_CHECK(pread(fd, back, 5, 0) == 5 && strcmp(back, "after") == 0, "write through the mapping missed the file");
  PROG_CHECK((fcntl(opath, F_GETFL) & O_PATH) != 0, "O_PATH lost");
  struct rlimit r;
  PROG_CHECK(getrlimit(RLIMIT_NOFILE, &r) == 0 && r.rlim_cur == 512 && r.rlim_max == 1000, "rlimit");
  prog_pass();
}
