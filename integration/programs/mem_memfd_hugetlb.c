// A memfd of huge pages (MFD_HUGETLB, 2 MiB), mapped shared and private,
// the private mapping's page written (its own copy): after restore the
// memfd is on hugetlbfs again (same device, 2 MiB pages), holds its data,
// and each mapping sees what it saw. Passes without a check where no huge
// page can be had (says so).
#define _GNU_SOURCE
#include <errno.h>
#include <linux/memfd.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "prog.h"

#define LEN (2 << 20)

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

int main(int argc, char** argv) {
  prog_init(argc, argv);
  int fd = (int)syscall(SYS_memfd_create, "huge", MFD_HUGETLB | MFD_HUGE_2MB);
  char *shared = MAP_FAILED, *priv = MAP_FAILED;
  if (fd >= 0 && ftruncate(fd, LEN) == 0) {
    shared = mmap(NULL, LEN, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    priv = mmap(NULL, LEN, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
  }
  if (shared == MAP_FAILED || priv == MAP_FAILED) {
    fprintf(stderr, "no 2 MiB huge pages here (%s): not checked\n", strerror(errno));
    prog_ready();
    prog_wait_go();
    prog_pass();
  }
  for (int i = 0; i < LEN; i += 4096) shared[i] = (char)(i / 4096);
  priv[4096] = 'p';  // copies the huge page for this mapping
  struct stat before;
  PROG_CHECK(fstat(fd, &before) == 0, "fstat");
  prog_ready();
  prog_wait_go();
  struct stat after;
  PROG_CHECK(fstat(fd, &after) == 0, "fstat");
  PROG_CHECK(after.st_dev == before.st_dev && after.st_size == LEN, "memfd device %lx size %ld (was %lx)",
             (unsigned long)after.st_dev, (long)after.st_size, (unsigned long)before.st_dev);
  PROG_CHECK(kernel_page_kb(shared) == 2048 && kernel_page_kb(priv) == 2048, "page sizes %ld %ld kB",
             kernel_page_kb(shared), kernel_page_kb(priv));
  for (int i = 0; i < LEN; i += 4096) PROG_CHECK(shared[i] == (char)(i / 4096), "shared data at %d", i);
  PROG_CHECK(priv[4096] == 'p' && priv[8192] == 2 && shared[4096] == 1, "private copy");
  char b = 0;
  PROG_CHECK(pread(fd, &b, 1, 3 * 4096) == 1 && b == 3, "read through the fd");
  prog_pass();
}
