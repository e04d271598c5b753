// AVX-512 state in threads: each of two threads holds its own values in
// zmm1 (all 512 bits), zmm17 (an upper-16 register) and opmask k3 while
// parked in a raw futex wait; each finds them again after restore.
// Passes without a check on a CPU without AVX-512F (says so).
#define _GNU_SOURCE
#include <cpuid.h>
#include <linux/futex.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "prog.h"

static volatile int word;  // futex: 0 wait, 1 go
static volatile int parked;
static char bad[2][96];

// Its own target: the clobbers name AVX-512 registers.
__attribute__((target("avx512f"))) static void* worker(void* a) {
  int i = (int)(long)a;
  uint64_t in[8], z1[8], z17[8], k3 = 0, kin = 0xa5a5000000000000ULL | (uint64_t)(i + 1) * 0x1234567;
  for (int k = 0; k < 8; k++) in[k] = 0x1111111111111111ULL * (uint64_t)(k + 1) + (uint64_t)i;
  __asm__ volatile(
      "vmovdqu64 %[in], %%zmm1\n\t"
      "vpternlogq $0x55, %%zmm1, %%zmm1, %%zmm17\n\t"  // zmm17 = ~zmm1
      "kmovq %[kin], %%k3\n\t"
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
      "vmovdqu64 %%zmm1, %[z1]\n\t"
      "vmovdqu64 %%zmm17, %[z17]\n\t"
      "kmovq %%k3, %[k3]\n\t"
      : [z1] "=m"(z1), [z17] "=m"(z17), [k3] "=r"(k3), [parked] "+m"(parked)
      : [in] "m"(in), [kin] "r"(kin), [w] "r"(&word)
      : "rax", "rcx", "rdi", "rsi", "rdx", "r10", "r11", "xmm1", "xmm17", "k3", "memory");
  for (int k = 0; k < 8; k++) {
    if (z1[k] != in[k]) snprintf(bad[i], sizeof bad[i], "zmm1 word %d: %#lx, want %#lx", k, z1[k], in[k]);
    if (z17[k] != ~in[k]) snprintf(bad[i], sizeof bad[i], "zmm17 word %d: %#lx, want %#lx", k, z17[k], ~in[k]);
  }
  if (k3 != kin) snprintf(bad[i], sizeof bad[i], "k3: %#lx, want %#lx", k3, kin);
  return NULL;
}

static int has_avx512f(void) {
  unsigned a, b, c, d;
  if (!__get_cpuid_count(7, 0, &a, &b, &c, &d)) return 0;
  return (b >> 16) & 1;
}

int main(int argc, char** argv) {
  prog_init(argc, argv);
  int n = has_avx512f() ? 2 : 0;
  if (!n) fprintf(stderr, "no AVX-512F on this CPU: nothing to check\n");
  pthread_t t[2];
  for (long i = 0; i < n; i++) PROG_CHECK(pthread_create(&t[i], NULL, worker, (void*)i) == 0, "thread");
  while (parked < n) usleep(1000);
  usleep(20000);
  prog_ready();
  prog_wait_go();
  word = 1;
  syscall(SYS_futex, &word, FUTEX_WAKE, 2, NULL, NULL, 0);
  for (int i = 0; i < n; i++) pthread_join(t[i], NULL);
  for (int i = 0; i < n; i++) PROG_CHECK(!bad[i][0], "thread %d: %s", i, bad[i]);
  prog_pass();
}
