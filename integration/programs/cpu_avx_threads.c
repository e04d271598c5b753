// Four threads each hold their own value in ymm5 (both halves) while
// parked in a raw futex wait (no libc code touches vector registers
// there): each finds its own value after restore.
#define _GNU_SOURCE
#include <linux/futex.h>
#include <pthread.h>
#include <stdint.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "prog.h"

static volatile int word;  // futex: 0 wait, 1 go
static volatile int parked;
static int ok[4];

static void* worker(void* a) {
  int i = (int)(long)a;
  double in = 1000.0 + i, out[4];
  __asm__ volatile(
      "vbroadcastsd %[v], %%ymm5\n\t"
      "lock incl %[parked]\n\t"
      "1:\n\t"
      "mov $202, %%eax\n\t"  // futex(&word, FUTEX_WAIT, 0, NULL)
      "mov %[w], %%rdi\n\t"
      "xor %%esi, %%esi\n\t"
      "xor %%edx, %%edx\n\t"
      "xor %%r10d, %%r10d\n\t"
      "syscall\n\t"
      "cmpl $0, (%[w])\n\t"
      "je 1b\n\t"
      "vmovupd %%ymm5, %[o]\n\t"
      : [o] "=m"(out), [parked] "+m"(parked)
      : [v] "m"(in), [w] "r"(&word)
      : "rax", "rcx", "rdi", "rsi", "rdx", "r10", "r11", "xmm5", "memory");
  ok[i] = out[0] == in && out[3] == in;
  return NULL;
}

int main(int argc, char** argv) {
  prog_init(argc, argv);
  pthread_t t[4];
  for (long i = 0; i < 4; i++) PROG_CHECK(pthread_create(&t[i], NULL, worker, (void*)i) == 0, "thread");
  while (parked < 4) usleep(1000);
  usleep(20000);
  prog_ready();
  prog_wait_go();
  word = 1;
  syscall(SYS_futex, &word, FUTEX_WAKE, 4, NULL, NULL, 0);
  for (int i = 0; i < 4; i++) pthread_join(t[i], NULL);
  for (int i = 0; i < 4; i++) PROG_CHECK(ok[i], "thread %d lost its ymm5", i);
  prog_pass();
}
