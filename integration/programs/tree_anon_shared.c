// A 2 MiB MAP_SHARED|MAP_ANONYMOUS region made before fork, shared by the
// root and two children; some pages written by the root, some by the
// children, most never touched. After restore it is still one region: the
// old contents are there for all, and new writes by either side show in
// the other.
#define _GNU_SOURCE
#include <stdint.h>
#include <sys/mman.h>
#include <unistd.h>

#include "prog.h"

#define SIZE (2 << 20)
// Pages (of 4 KiB) and who wrote them: the root before the dump every
// 50th page below 300; child i page 300+i before and 400+i after; the
// root page 500 after.
#define PG 4096

static uint64_t* region;

static void fill(int page, int tag) {
  uint64_t* p = region + page * (PG / 8);
  for (int k = 0; k < PG / 8; k++) p[k] = (uint64_t)tag << 48 | (uint64_t)page << 16 | (uint64_t)k;
}

static void check(int page, int tag) {
  uint64_t* p = region + page * (PG / 8);
  for (int k = 0; k < PG / 8; k++) {
    uint64_t want = tag == 0 ? 0 : ((uint64_t)tag << 48 | (uint64_t)page << 16 | (uint64_t)k);
    PROG_CHECK(p[k] == want, "page %d word %d: %#llx, want %#llx (tag %d)", page, k, (unsigned long long)p[k],
               (unsigned long long)want, tag);
  }
}

static void check_old(void) {
  for (int page = 0; page < 300; page += 50) check(page, 1);
  check(300, 10);
  check(301, 11);
  check(1, 0);
  check(450, 0);
  check(SIZE / PG - 1, 0);
}

int main(int argc, char** argv) {
  prog_init(argc, argv);
  region = mmap(NULL, SIZE, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  PROG_CHECK(region != MAP_FAILED, "mmap");
  for (int page = 0; page < 300; page += 50) fill(page, 1);
  pid_t kids[2];
  for (int i = 0; i < 2; i++) {
    kids[i] = prog_fork_child(i);
    if (kids[i] == 0) {
      fill(300 + i, 10 + i);
      prog_child_ready(i);
      prog_wait_go();
      prog_wait_mark("root-wrote");
      check_old();
      check(500, 30);
      fill(400 + i, 20 + i);
      prog_pass();
    }
  }
  prog_wait_children_ready(2);
  check_old();
  prog_ready();
  prog_wait_go();
  check_old();
  fill(500, 30);
  prog_mark("root-wrote");
  for (int i = 0; i < 2; i++) prog_check_child(kids[i], i);
  check(400, 20);
  check(401, 21);
  check_old();
  prog_pass();
}
