// Memory restored lazily (restore --lazy-pages, the lazy-pages daemon
// filling it in through userfaultfd as the program runs). Right after the
// restore, before the daemon can have copied much, the program forks (the
// child must see the dumped pages too), has the kernel read lazy memory
// (write(2) from it into a pipe), discards part of a mapping with
// MADV_DONTNEED (it must read as zeros, not as dumped), moves one with
// mremap (its pages must follow), writes into pages not there yet, and
// then checks every page: heap, stack and sparse mappings included.
#define _GNU_SOURCE
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <pthread.h>
#include <sys/mman.h>
#include <unistd.h>

#include "prog.h"

#define PAGE 4096UL
enum { kA = 16384, kB = 1024, kC = 256, kD = 256, kE = 128, kHeap = 256, kStack = 16 };

static uint64_t word(int region, size_t page, int version, size_t k) {
  uint64_t x = ((uint64_t)region << 56) ^ ((uint64_t)page << 24) ^ ((uint64_t)version << 16) ^ k;
  x *= 0x9e3779b97f4a7c15ULL;
  return x ^ (x >> 29);
}
static void fill(uint8_t* base, int region, size_t page, int version) {
  uint64_t* w = (uint64_t*)(base + page * PAGE);
  for (size_t k = 0; k < PAGE / 8; k++) w[k] = word(region, page, version, k);
}
// version 0: zeros.
static void check_at(const uint8_t* at, int region, size_t page, int version, const char* what) {
  const uint64_t* w = (const uint64_t*)at;
  for (size_t k = 0; k < PAGE / 8; k++) {
    uint64_t want = version ? word(region, page, version, k) : 0;
    if (w[k] != want)
      prog_fail("%s: page %zu word %zu is %#llx, want %#llx", what, page, k, (unsigned long long)w[k],
                (unsigned long long)want);
  }
}
static void check(const uint8_t* base, int region, size_t page, int version, const char* what) {
  check_at(base + page * PAGE, region, page, version, what);
}
// A thread with its own TLS (beside its rseq area and stack canary) and
// stack, checked after the restore too.
static __thread uint64_t tls[4 * PAGE / 8];
static volatile int thread_go;
static void* thread_main(void* arg) {
  (void)arg;
  uint8_t st[4 * PAGE];
  for (size_t i = 0; i < 4; i++) fill((uint8_t*)tls, 8, i, 1), fill(st, 9, i, 1);
  prog_child_ready(1);
  while (!thread_go) usleep(1000);
  for (size_t i = 0; i < 4; i++) check((const uint8_t*)tls, 8, i, 1, "thread TLS"), check(st, 9, i, 1, "thread stack");
  return (void*)1;
}

static uint8_t* map(size_t pages) {
  void* p = mmap(NULL, pages * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  PROG_CHECK(p != MAP_FAILED, "mmap %zu pages", pages);
  return p;
}

int main(int argc, char** argv) {
  prog_init(argc, argv);
  uint8_t *a = map(kA), *b = map(kB), *c = map(kC), *d = map(kD), *e = map(kE);
  uint8_t* heap = malloc(kHeap * PAGE);
  PROG_CHECK(heap != NULL, "malloc");
  volatile uint8_t stack[kStack * PAGE];
  for (size_t i = 0; i < kA; i++) fill(a, 1, i, 1);
  for (size_t i = 0; i < kB; i += 3) fill(b, 2, i, 1);  // the rest never touched
  for (size_t i = 0; i < kC; i++) fill(c, 3, i, 1);
  for (size_t i = 0; i < kD; i++) fill(d, 4, i, 1);
  for (size_t i = 0; i < kE; i++) fill(e, 5, i, 1);
  for (size_t i = 0; i < kHeap; i++) fill(heap, 6, i, 1);
  for (size_t i = 0; i < kStack; i++) fill((uint8_t*)stack, 7, i, 1);
  pthread_t th;
  PROG_CHECK(pthread_create(&th, NULL, thread_main, NULL) == 0, "pthread_create");
  for (int i = 0; i < 1500 && access("ready-1", F_OK) != 0; i++) usleep(10000);
  PROG_CHECK(access("ready-1", F_OK) == 0, "the thread never got ready");
  // Somewhere for D to move to, free again.
  uint8_t* to = map(kD);
  munmap(to, kD * PAGE);
  prog_ready();
  prog_wait_go();

  // A child at once: most of A is likely not in yet.
  pid_t kid = prog_fork_child(0);
  if (kid == 0) {
    for (size_t i = 0; i < kA; i++) check(a, 1, i, 1, "A in the child");
    for (size_t i = 0; i < kB; i++) check(b, 2, i, i % 3 == 0 ? 1 : 0, "B in the child");
    prog_pass();
  }
  // The kernel reads E for write(2).
  int p[2];
  PROG_CHECK(pipe(p) == 0, "pipe");
  uint8_t buf[PAGE];
  for (size_t i = 0; i < kE; i += 8) {
    PROG_CHECK(write(p[1], e + i * PAGE, PAGE) == (ssize_t)PAGE, "write E page %zu to a pipe", i);
    PROG_CHECK(read(p[0], buf, PAGE) == (ssize_t)PAGE, "read it back");
    check_at(buf, 5, i, 1, "E as the kernel read it");
  }
  // Half of C discarded: zeros there, the dumped pages in the other half.
  PROG_CHECK(madvise(c, kC / 2 * PAGE, MADV_DONTNEED) == 0, "madvise C");
  for (size_t i = 0; i < kC; i++) check(c, 3, i, i < kC / 2 ? 0 : 1, "C after MADV_DONTNEED");
  // D moved: its pages with it.
  uint8_t* moved = mremap(d, kD * PAGE, kD * PAGE, MREMAP_MAYMOVE | MREMAP_FIXED, to);
  PROG_CHECK(moved == to, "mremap D");
  for (size_t i = 0; i < kD; i++) check(moved, 4, i, 1, "D after mremap");
  // Writes into pages perhaps not in yet.
  for (size_t i = kA / 2; i < kA / 2 + 512; i++) fill(a, 1, i, 2);
  for (size_t i = 0; i < kA; i++) check(a, 1, i, i >= kA / 2 && i < kA / 2 + 512 ? 2 : 1, "A");
  for (size_t i = 0; i < kB; i++) check(b, 2, i, i % 3 == 0 ? 1 : 0, "B");
  for (size_t i = 0; i < kE; i++) check(e, 5, i, 1, "E");
  for (size_t i = 0; i < kHeap; i++) check(heap, 6, i, 1, "heap");
  for (size_t i = 0; i < kStack; i++) check((const uint8_t*)stack, 7, i, 1, "stack");
  thread_go = 1;
  void* ok = NULL;
  PROG_CHECK(pthread_join(th, &ok) == 0 && ok == (void*)1, "the thread's checks");
  prog_check_child(kid, 0);
  prog_pass();
}
