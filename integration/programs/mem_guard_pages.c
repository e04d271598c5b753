// Guard regions (MADV_GUARD_INSTALL) in an anonymous and a private file
// mapping: after restore the guarded pages still fault (SIGSEGV), the
// pages around them keep their data, and nothing was read from them on
// dump. Passes without a check where the kernel has no guard regions.
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "prog.h"

#define GUARD_INSTALL 102
#define PAGES 8

static sigjmp_buf jb;
static void on_segv(int sig) { siglongjmp(jb, sig); }

static int faults(volatile char* p) {
  if (sigsetjmp(jb, 1)) return 1;
  (void)*p;
  return 0;
}

static void check(char* m, const char* what) {
  for (int i = 0; i < PAGES; i++) {
    int guarded = i == 2 || i == 3 || i == 6;
    PROG_CHECK(faults(m + i * 4096) == guarded, "%s page %d: %s", what, i, guarded ? "no longer guarded" : "faults");
    if (!guarded) PROG_CHECK(m[i * 4096 + 5] == 'a' + i, "%s page %d data", what, i);
  }
}

int main(int argc, char** argv) {
  prog_init(argc, argv);
  struct sigaction sa = {.sa_handler = on_segv};
  sigaction(SIGSEGV, &sa, NULL);
  int fd = open("guarded.bin", O_RDWR | O_CREAT | O_TRUNC, 0644);
  PROG_CHECK(fd >= 0 && ftruncate(fd, PAGES * 4096) == 0, "file");
  char* anon = mmap(NULL, PAGES * 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  char* file = mmap(NULL, PAGES * 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
  PROG_CHECK(anon != MAP_FAILED && file != MAP_FAILED, "mmap");
  close(fd);
  for (int i = 0; i < PAGES; i++) anon[i * 4096 + 5] = file[i * 4096 + 5] = (char)('a' + i);
  int ok = 1;
  for (int i = 0; i < PAGES && ok; i++) {
    if (i != 2 && i != 3 && i != 6) continue;
    if (madvise(anon + i * 4096, 4096, GUARD_INSTALL) != 0 || madvise(file + i * 4096, 4096, GUARD_INSTALL) != 0)
      ok = 0;
  }
  if (!ok) {
    PROG_CHECK(errno == EINVAL, "MADV_GUARD_INSTALL");
    fprintf(stderr, "no guard regions on this kernel: not checked\n");
  } else {
    check(anon, "anonymous");
    check(file, "file");
  }
  prog_ready();
  prog_wait_go();
  if (ok) {
    check(anon, "anonymous");
    check(file, "file");
  }
  prog_pass();
}
