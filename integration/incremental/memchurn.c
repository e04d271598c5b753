// Memory that keeps changing between the runs of an incremental dump
// (pre-dump, pre-dump, dump): the harness (suite.sh) makes the program go
// through steps between them, each a different kind of change a write
// tracker must see: pages rewritten, dropped (MADV_DONTNEED, also of a
// private copy of a file page, which then reads as the file again),
// appearing in holes, a mapping moved by mremap, one unmapped and mapped
// anew at the same place, a child forked. After the restore every page
// must hold what the last step left in it.
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "prog.h"

#define PAGE 4096UL
enum { kA = 4096, kAUsed = 3584, kB = 512, kC = 256, kD = 64, kE = 256 };

static uint8_t *a, *b, *c, *d;
static char dir[512];

static uint64_t word(int region, size_t page, int version, size_t k) {
  uint64_t x = ((uint64_t)region << 56) ^ ((uint64_t)page << 24) ^ ((uint64_t)version << 16) ^ k;
  x *= 0x9e3779b97f4a7c15ULL;
  return x ^ (x >> 29);
}

static void fill_one(uint8_t* at, int region, size_t page, int version) {
  uint64_t* w = (uint64_t*)at;
  for (size_t k = 0; k < PAGE / 8; k++) w[k] = word(region, page, version, k);
}
static void fill(uint8_t* base, int region, size_t page, int version) { fill_one(base + page * PAGE, region, page, version); }

// version 0 for a region other than D means zeros.
static void check(const uint8_t* base, int region, size_t page, int version, const char* what) {
  const uint64_t* w = (const uint64_t*)(base + page * PAGE);
  for (size_t k = 0; k < PAGE / 8; k++) {
    uint64_t want = (version == 0 && region != 'D') ? 0 : word(region, page, version, k);
    PROG_CHECK(w[k] == want, "%s page %zu word %zu: %#llx, want version %d (%#llx)", what, page, k,
               (unsigned long long)w[k], version, (unsigned long long)want);
  }
}

static void* map_anon(size_t pages) {
  void* p = mmap(NULL, pages * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  PROG_CHECK(p != MAP_FAILED, "mmap");
  return p;
}

// What each page holds after `steps` steps.
static int version_a(size_t i, int steps) {
  int v = i < kAUsed ? 1 : 0;
  if (steps >= 1) {
    if (i < kAUsed && i % 5 == 0) v = 2;
    else if (i < kAUsed && i % 7 == 3) v = 0;
    if (i >= kAUsed && i < kAUsed + 16) v = 2;
  }
  if (steps >= 2) {
    if (i < kAUsed && i % 5 == 1) v = 3;
    if (i >= kAUsed && i < kAUsed + 16 && i % 2 == 0) v = 3;
  }
  return v;
}
static int version_b(size_t i, int steps) { return steps >= 2 && i < 10 ? 2 : 1; }
static int version_c(size_t i, int steps) { return steps >= 2 && i < 10 ? 4 : steps >= 1 ? 3 : 1; }
static int version_d(size_t i, int steps) {
  int v = i < 32 ? 1 : 0;
  if (steps >= 1) {
    if (i >= 32 && i < 40) v = 2;
    if (i == 5) v = 0;  // the private copy dropped: the file's page again
  }
  if (steps >= 2 && i == 6) v = 3;
  return v;
}

static void step1(void) {
  for (size_t i = 0; i < kAUsed; i++) {
    if (i % 5 == 0) fill(a, 'A', i, 2);
    else if (i % 7 == 3) PROG_CHECK(madvise(a + i * PAGE, PAGE, MADV_DONTNEED) == 0, "madvise A");
  }
  for (size_t i = kAUsed; i < kAUsed + 16; i++) fill(a, 'A', i, 2);
  volatile uint8_t sink = a[(kAUsed + 20) * PAGE];  // a read fault in the hole: the zero page
  (void)sink;
  // B moves: its new mapping has no tracking of its own.
  void* to = mmap(NULL, kB * PAGE, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  PROG_CHECK(to != MAP_FAILED, "reserve for B");
  void* moved = mremap(b, kB * PAGE, kB * PAGE, MREMAP_MAYMOVE | MREMAP_FIXED, to);
  PROG_CHECK(moved == to, "mremap B");
  b = moved;
  // C is mapped anew where it was.
  PROG_CHECK(munmap(c, kC * PAGE) == 0, "munmap C");
  void* again = mmap(c, kC * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
  PROG_CHECK(again == c, "mmap C again");
  for (size_t i = 0; i < kC; i++) fill(c, 'C', i, 3);
  for (size_t i = 32; i < 40; i++) fill(d, 'D', i, 2);
  PROG_CHECK(madvise(d + 5 * PAGE, PAGE, MADV_DONTNEED) == 0, "madvise D");
}

static void step2(void) {
  for (size_t i = 0; i < kAUsed; i++)
    if (i % 5 == 1) fill(a, 'A', i, 3);
  for (size_t i = kAUsed; i < kAUsed + 16; i += 2) fill(a, 'A', i, 3);
  for (size_t i = 0; i < 10; i++) fill(b, 'B', i, 2);
  for (size_t i = 0; i < 10; i++) fill(c, 'C', i, 4);
  fill(d, 'D', 6, 3);
}

static void check_all(int steps) {
  for (size_t i = 0; i < kA; i++) check(a, 'A', i, version_a(i, steps), "A");
  for (size_t i = 0; i < kB; i++) check(b, 'B', i, version_b(i, steps), "B");
  for (size_t i = 0; i < kC; i++) check(c, 'C', i, version_c(i, steps), "C");
  for (size_t i = 0; i < kD; i++) check(d, 'D', i, version_d(i, steps), "D");
}

// Forked after step 2: a task no pre-dump saw.
static _Noreturn void child(void) {
  uint8_t* e = map_anon(kE);
  for (size_t i = 0; i < kE; i++) fill(e, 'E', i, 1);
  prog_child_ready(0);
  prog_wait_go();
  for (size_t i = 0; i < kE; i++) check(e, 'E', i, 1, "child E");
  check_all(2);  // its copy of the parent's memory, as it was at the fork
  prog_pass();
}

int main(int argc, char** argv) {
  prog_init(argc, argv);
  snprintf(dir, sizeof dir, "%s", getenv("CRYO_PROG_DIR") ? getenv("CRYO_PROG_DIR") : ".");
  a = map_anon(kA);
  b = map_anon(kB);
  c = map_anon(kC);
  for (size_t i = 0; i < kAUsed; i++) fill(a, 'A', i, 1);
  for (size_t i = 0; i < kB; i++) fill(b, 'B', i, 1);
  for (size_t i = 0; i < kC; i++) fill(c, 'C', i, 1);
  // D: a private mapping of a file whose pages are version 0.
  char path[600];
  snprintf(path, sizeof path, "%s/d.data", dir);
  int fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  PROG_CHECK(fd >= 0, "open %s", path);
  uint8_t* buf = malloc(PAGE);
  for (size_t i = 0; i < kD; i++) {
    fill_one(buf, 'D', i, 0);
    PROG_CHECK(write(fd, buf, PAGE) == (ssize_t)PAGE, "write file");
  }
  free(buf);
  d = mmap(NULL, kD * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
  PROG_CHECK(d != MAP_FAILED, "mmap D");
  close(fd);
  for (size_t i = 0; i < 32; i++) fill(d, 'D', i, 1);
  check_all(0);
  prog_ready();
  prog_wait_mark("step1");
  step1();
  check_all(1);
  prog_mark("step1-done");
  prog_wait_mark("step2");
  step2();
  check_all(2);
  pid_t kid = prog_fork_child(0);
  if (kid == 0) child();
  prog_wait_children_ready(1);
  prog_mark("step2-done");
  prog_wait_go();
  check_all(2);
  prog_check_child(kid, 0);
  prog_pass();
}
