// A thread's own GS base (arch_prctl) and the TLS (FS base) of every
// thread: the same after restore.
#define _GNU_SOURCE
#include <asm/prctl.h>
#include <pthread.h>
#include <stdint.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "prog.h"

static pthread_barrier_t bar;
static int ok;
static char area[4096];

static void* worker(void* a) {
  (void)a;
  unsigned long fs_before = 0, gs = 0, fs = 0;
  syscall(SYS_arch_prctl, ARCH_SET_GS, (unsigned long)area);
  syscall(SYS_arch_prctl, ARCH_GET_FS, &fs_before);
  pthread_barrier_wait(&bar);
  pthread_barrier_wait(&bar);
  syscall(SYS_arch_prctl, ARCH_GET_GS, &gs);
  syscall(SYS_arch_prctl, ARCH_GET_FS, &fs);
  ok = gs == (unsigned long)area && fs == fs_before && fs != 0;
  return NULL;
}

int main(int argc, char** argv) {
  prog_init(argc, argv);
  pthread_barrier_init(&bar, NULL, 2);
  pthread_t t;
  PROG_CHECK(pthread_create(&t, NULL, worker, NULL) == 0, "thread");
  pthread_barrier_wait(&bar);
  prog_ready();
  prog_wait_go();
  pthread_barrier_wait(&bar);
  pthread_join(t, NULL);
  PROG_CHECK(ok, "GS or FS base of the thread changed");
  prog_pass();
}
