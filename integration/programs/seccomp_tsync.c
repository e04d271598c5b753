// A filter installed with SECCOMP_FILTER_FLAG_TSYNC onto every thread of
// the process at once: after restore every thread is filtered, including
// threads that existed before the filter and new ones made later.
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
static int thread_ok;

static int filtered(void) {
  errno = 0;
  return syscall(SYS_getppid) == -1 && errno == EPERM;
}

static void* worker(void* a) {
  (void)a;
  pthread_barrier_wait(&bar);  // filter installed by main with TSYNC
  pthread_barrier_wait(&bar);  // restored
  thread_ok = filtered();
  return NULL;
}

static void* later(void* a) {
  *(int*)a = filtered();
  return NULL;
}

int main(int argc, char** argv) {
  prog_init(argc, argv);
  pthread_barrier_init(&bar, NULL, 2);
  pthread_t t;
  PROG_CHECK(pthread_create(&t, NULL, worker, NULL) == 0, "thread");
  struct sock_filter f[] = {
      BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
      BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_getppid, 0, 1),
      BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | EPERM),
      BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
  };
  struct sock_fprog p = {4, f};
  PROG_CHECK(prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) == 0, "nnp");
  PROG_CHECK(syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, SECCOMP_FILTER_FLAG_TSYNC, &p) == 0, "seccomp tsync");
  pthread_barrier_wait(&bar);
  prog_ready();
  prog_wait_go();
  pthread_barrier_wait(&bar);
  pthread_join(t, NULL);
  PROG_CHECK(filtered(), "main thread not filtered");
  PROG_CHECK(thread_ok, "other thread not filtered");
  int later_ok = 0;
  pthread_t l;
  PROG_CHECK(pthread_create(&l, NULL, later, &later_ok) == 0 && pthread_join(l, NULL) == 0, "new thread");
  PROG_CHECK(later_ok, "new thread not filtered");
  prog_pass();
}
