// Three stacked seccomp filters on the process (getppid -> EPERM, then
// getpgid -> EACCES, then uname -> ENOSYS, the last two only in thread 2's
// chain): each thread's chain, in order, is in force after restore, and
// /proc says Seccomp 2 with the same number of filters.
#define _GNU_SOURCE
#include <errno.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <pthread.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "prog.h"

static void deny(int nr, int err) {
  struct sock_filter f[] = {
      BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
      BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, (unsigned)nr, 0, 1),
      BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | (unsigned)err),
      BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
  };
  struct sock_fprog p = {4, f};
  if (syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &p) != 0) prog_fail("seccomp");
}

static int filters(void) {
  char path[64], line[256];
  snprintf(path, sizeof path, "/proc/self/task/%d/status", gettid());
  FILE* f = fopen(path, "r");
  int n = -1;
  while (fgets(line, sizeof line, f))
    if (sscanf(line, "Seccomp_filters: %d", &n) == 1) break;
  fclose(f);
  return n;
}

static pthread_barrier_t bar;
static int thread_ok;

static void* worker(void* a) {
  (void)a;
  deny(SYS_getpgid, EACCES);
  deny(SYS_uname, ENOSYS);
  pthread_barrier_wait(&bar);
  pthread_barrier_wait(&bar);
  struct utsname u;
  errno = 0;
  int r1 = (int)syscall(SYS_getppid), e1 = errno;  /* glibc getppid() never sets errno */
  errno = 0;
  int r2 = getpgid(0), e2 = errno;
  int r3 = uname(&u), e3 = errno;
  thread_ok = r1 == -1 && e1 == EPERM && r2 == -1 && e2 == EACCES && r3 == -1 && e3 == ENOSYS && filters() == 3;
  return NULL;
}

int main(int argc, char** argv) {
  prog_init(argc, argv);
  PROG_CHECK(prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) == 0, "nnp");
  deny(SYS_getppid, EPERM);
  pthread_barrier_init(&bar, NULL, 2);
  pthread_t th;
  PROG_CHECK(pthread_create(&th, NULL, worker, NULL) == 0, "thread");
  pthread_barrier_wait(&bar);
  prog_ready();
  prog_wait_go();
  pthread_barrier_wait(&bar);
  pthread_join(th, NULL);
  PROG_CHECK(thread_ok, "the thread's three filters are not all in force");
  errno = 0;
  PROG_CHECK(syscall(SYS_getppid) == -1 && errno == EPERM, "main filter lost");
  PROG_CHECK(getpgid(0) >= 0, "main got the thread's filter");
  PROG_CHECK(filters() == 1, "main has %d filters", filters());
  PROG_CHECK(prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0) == 1, "no_new_privs lost");
  prog_pass();
}
