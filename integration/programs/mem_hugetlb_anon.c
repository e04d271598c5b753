// Anonymous memory of 2 MiB huge pages (MAP_HUGETLB), private and shared,
// made before fork: the child writes its own copy of a private page and
// a shared page. After restore both processes still have huge-page
// mappings with the data each saw, the private ones apart, the shared one
// one object (a write shows on the other side). Passes without a check
// where three huge pages cannot be had (says so).
#define _GNU_SOURCE
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "prog.h"

#define LEN (2 << 20)
#define HUGE (MAP_HUGETLB | (21 << MAP_HUGE_SHIFT))

static char *priv, *shared;

static long kernel_page_kb(void* addr) {
  FILE* f = fopen("/proc/self/smaps", "r");
  char line[512];
  int in = 0;
  long kb = -1;
  while (fgets(line, sizeof line, f)) {
    unsigned long s, e;
    char c;
    if (sscanf(line, "%lx-%lx %c", &s, &e, &c) == 3) in = (unsigned long)addr >= s && (unsigned long)addr < e;
    if (in && sscanf(line, "KernelPageSize: %ld kB", &kb) == 1) in = 0;
  }
  fclose(f);
  return kb;
}

static void check_huge(void) {
  PROG_CHECK(kernel_page_kb(priv) == 2048 && kernel_page_kb(shared) == 2048, "page sizes %ld %ld kB",
             kernel_page_kb(priv), kernel_page_kb(shared));
}

int main(int argc, char** argv) {
  prog_init(argc, argv);
  priv = mmap(NULL, LEN, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | HUGE, -1, 0);
  shared = mmap(NULL, LEN, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS | HUGE, -1, 0);
  if (priv == MAP_FAILED || shared == MAP_FAILED) {
    fprintf(stderr, "no 2 MiB huge pages here: not checked\n");
    prog_ready();
    prog_wait_go();
    prog_pass();
  }
  memset(priv, 'r', 4096);
  priv[LEN - 1] = 'e';
  shared[100] = 's';
  pid_t child = prog_fork_child(0);
  if (child == 0) {
    priv[0] = 'c';  // its own huge page now
    shared[200] = 'C';
    prog_child_ready(0);
    prog_wait_go();
    check_huge();
    PROG_CHECK(priv[0] == 'c' && priv[1] == 'r' && priv[LEN - 1] == 'e', "child's private copy");
    PROG_CHECK(shared[100] == 's' && shared[200] == 'C', "child's shared data");
    shared[300] = 'x';
    prog_pass();
  }
  prog_wait_children_ready(1);
  prog_ready();
  prog_wait_go();
  check_huge();
  PROG_CHECK(priv[0] == 'r' && priv[LEN - 1] == 'e', "root's private data: %c", priv[0]);
  prog_check_child(child, 0);
  PROG_CHECK(shared[100] == 's' && shared[200] == 'C' && shared[300] == 'x', "shared object");
  prog_pass();
}
