// glibc's rseq registration and robust futex list, per thread: after
// restore the kernel still has this thread's rseq area registered (a
// second registration of the same area fails with EBUSY) and the cpu_id
// it keeps there is current, and get_robust_list gives the same head.
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdint.h>
#include <sys/rseq.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "prog.h"

static int registered_busy(void) {
  struct rseq* r = (struct rseq*)((char*)__builtin_thread_pointer() + __rseq_offset);
  // glibc registers a 32-byte area whatever __rseq_size says; a wrong
  // length gives EINVAL, the right one EBUSY.
  for (unsigned len = 20; len <= 64; len += 4) {
    long ret = syscall(SYS_rseq, r, len, 0, RSEQ_SIG);
    if (ret < 0 && errno == EBUSY) return 1;
  }
  return 0;
}

static int cpu_ok(void) {
  struct rseq* r = (struct rseq*)((char*)__builtin_thread_pointer() + __rseq_offset);
  return (int)r->cpu_id >= 0 && (int)r->cpu_id == sched_getcpu();
}

int main(int argc, char** argv) {
  prog_init(argc, argv);
  PROG_CHECK(__rseq_size > 0, "glibc did not register rseq here");
  PROG_CHECK(registered_busy(), "rseq not registered before the dump");
  void* head_before;
  size_t len_before;
  PROG_CHECK(syscall(SYS_get_robust_list, 0, &head_before, &len_before) == 0, "get_robust_list");
  prog_ready();
  prog_wait_go();
  PROG_CHECK(registered_busy(), "rseq registration lost");
  int good = 0;
  for (int i = 0; i < 20 && !good; i++) good = cpu_ok();  // migrations race with the read
  PROG_CHECK(good, "rseq cpu_id is not kept current");
  void* head;
  size_t len;
  PROG_CHECK(syscall(SYS_get_robust_list, 0, &head, &len) == 0, "get_robust_list");
  PROG_CHECK(head == head_before && len == len_before, "robust list changed");
  prog_pass();
}
