// A filter shared by two threads (installed before the second thread was
// created, so the thread inherited it): after restore the main thread
// installs a second filter with SECCOMP_FILTER_FLAG_TSYNC, which needs
// every thread's chain to be its own; the call returns 0 and both
// threads are then filtered by both filters.
#define _GNU_SOURCE
#include <errno.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <pthread.h>
#include <stddef.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "prog.h"

static pthread_barrier_t bar;
static int thread_first, thread_second;

static long install(long nr, int err, unsigned flags) {
  struct sock_filter f[] = {
      BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
      BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, (unsigned)nr, 0, 1),
      BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | (unsigned)err),
      BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
  };
  struct sock_fprog p = {4, f};
  return syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, flags, &p);
}

static int fails_with(long nr, int err) {
  errno = 0;
  return syscall(nr) == -1 && errno == err;
}

static void* worker(void* a) {
  (void)a;
  pthread_barrier_wait(&bar);  // ready
  pthread_barrier_wait(&bar);  // second filter installed
  thread_first = fails_with(SYS_getppid, EPERM);
  thread_second = fails_with(SYS_getpgrp, EACCES);
  return NULL;
}

int main(int argc, char** argv) {
  prog_init(argc, argv);
  PROG_CHECK(prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) == 0, "nnp");
  PROG_CHECK(install(SYS_getppid, EPERM, 0) == 0, "first filter");
  pthread_barrier_init(&bar, NULL, 2);
  pthread_t t;
  PROG_CHECK(pthread_create(&t, NULL, worker, NULL) == 0, "thread");
  pthread_barrier_wait(&bar);
  prog_ready();
  prog_wait_go();
  long r = install(SYS_getpgrp, EACCES, SECCOMP_FILTER_FLAG_TSYNC);
  pthread_barrier_wait(&bar);
  pthread_join(t, NULL);
  PROG_CHECK(r == 0, "TSYNC install returned %ld (a thread that cannot sync)", r);
  PROG_CHECK(fails_with(SYS_getppid, EPERM) && fails_with(SYS_getpgrp, EACCES), "main thread not filtered");
  PROG_CHECK(thread_first && thread_second, "thread filtered by first %d second %d", thread_first, thread_second);
  prog_pass();
}
