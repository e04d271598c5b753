// Anonymous memory of every protection, PROT_NONE with data in it, a
// MAP_SHARED anonymous region, a private file mapping with some pages
// written, madvise flags, and a sparse reservation: contents, protections
// and addresses identical after restore.
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "prog.h"

#define PG 4096

static char* map(size_t len, int prot, int flags, int fd) {
  char* p = mmap(NULL, len, prot, flags, fd, 0);
  if (p == MAP_FAILED) prog_fail("mmap");
  return p;
}

static int vmflag(void* addr, const char* flag) {
  FILE* f = fopen("/proc/self/smaps", "r");
  char line[512];
  unsigned long a = (unsigned long)addr;
  int in = 0, found = 0;
  while (fgets(line, sizeof line, f)) {
    unsigned long s, e;
    if (sscanf(line, "%lx-%lx ", &s, &e) == 2 && strchr(line, '-') < strchr(line, ' ')) in = a >= s && a < e;
    if (in && strncmp(line, "VmFlags:", 8) == 0 && strstr(line, flag)) found = 1;
  }
  fclose(f);
  return found;
}

static char prot_of(void* addr, int which) {
  FILE* f = fopen("/proc/self/maps", "r");
  char line[512], perms[5] = "????";
  unsigned long a = (unsigned long)addr;
  while (fgets(line, sizeof line, f)) {
    unsigned long s, e;
    if (sscanf(line, "%lx-%lx %4s", &s, &e, perms) == 3 && a >= s && a < e) break;
  }
  fclose(f);
  return perms[which];
}

int main(int argc, char** argv) {
  prog_init(argc, argv);
  char* rw = map(8 * PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1);
  for (int i = 0; i < 8 * PG; i++) rw[i] = (char)(i * 31 + 7);
  char* none = map(2 * PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1);
  memset(none, 0x5a, 2 * PG);
  PROG_CHECK(mprotect(none, 2 * PG, PROT_NONE) == 0, "mprotect none");
  char* ro = map(PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1);
  strcpy(ro, "read only now");
  PROG_CHECK(mprotect(ro, PG, PROT_READ) == 0, "mprotect ro");
  char* shared = map(4 * PG, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1);
  for (int i = 0; i < 4 * PG; i += 97) shared[i] = (char)i;
  int fd = open("file.bin", O_RDWR | O_CREAT, 0644);
  PROG_CHECK(fd >= 0, "open");
  char buf[4 * PG];
  memset(buf, 'f', sizeof buf);
  PROG_CHECK(write(fd, buf, sizeof buf) == sizeof buf, "write file");
  char* fp = map(4 * PG, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd);
  close(fd);
  fp[2 * PG + 5] = 'P';  // one private copy
  char* dontfork = map(PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1);
  PROG_CHECK(madvise(dontfork, PG, MADV_DONTFORK) == 0, "madvise");
  char* sparse = map(1UL << 30, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1);
  sparse[123 * PG] = 1;
  sparse[200000 * PG] = 2;
  prog_ready();
  prog_wait_go();
  for (int i = 0; i < 8 * PG; i++) PROG_CHECK(rw[i] == (char)(i * 31 + 7), "rw byte %d", i);
  PROG_CHECK(prot_of(none, 0) == '-' && prot_of(none, 1) == '-', "PROT_NONE region changed protection");
  PROG_CHECK(mprotect(none, 2 * PG, PROT_READ) == 0, "mprotect back");
  for (int i = 0; i < 2 * PG; i++) PROG_CHECK(none[i] == 0x5a, "PROT_NONE byte %d lost", i);
  PROG_CHECK(prot_of(ro, 1) == '-' && strcmp(ro, "read only now") == 0, "read-only region");
  PROG_CHECK(prot_of(shared, 3) == 's', "shared mapping became private");
  for (int i = 0; i < 4 * PG; i += 97) PROG_CHECK(shared[i] == (char)i, "shared byte %d", i);
  PROG_CHECK(fp[2 * PG + 5] == 'P' && fp[0] == 'f' && fp[4 * PG - 1] == 'f', "file mapping content");
  PROG_CHECK(vmflag(dontfork, " dc"), "MADV_DONTFORK lost");
  PROG_CHECK(sparse[123 * PG] == 1 && sparse[200000 * PG] == 2 && sparse[5000 * PG] == 0, "sparse content");
  prog_pass();
}
