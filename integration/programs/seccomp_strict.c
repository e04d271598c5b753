// A thread in SECCOMP_MODE_STRICT (only read, write, exit, sigreturn)
// spinning on a flag in memory when dumped. After restore it is still in
// strict mode (/proc says Seccomp: 1), and it reports through write() on a
// file it had open and ends with exit.
#define _GNU_SOURCE
#include <fcntl.h>
#include <linux/seccomp.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "prog.h"

static volatile int go_flag, in_strict;
static int out_fd;
static pid_t strict_tid;

static void* strict_thread(void* a) {
  (void)a;
  strict_tid = gettid();
  if (prctl(PR_SET_SECCOMP, SECCOMP_MODE_STRICT) != 0) return NULL;
  in_strict = 1;
  while (!go_flag) __asm__ volatile("pause");
  syscall(SYS_write, out_fd, "strict ok", 9);
  syscall(SYS_exit, 0);
  return NULL;
}

static int seccomp_mode(pid_t tid) {
  char path[64], line[128];
  snprintf(path, sizeof path, "/proc/self/task/%d/status", tid);
  FILE* f = fopen(path, "r");
  int m = -1;
  while (f && fgets(line, sizeof line, f))
    if (sscanf(line, "Seccomp: %d", &m) == 1) break;
  if (f) fclose(f);
  return m;
}

int main(int argc, char** argv) {
  prog_init(argc, argv);
  out_fd = open("strict.out", O_RDWR | O_CREAT | O_TRUNC, 0644);
  PROG_CHECK(out_fd >= 0, "open");
  pthread_t t;
  PROG_CHECK(pthread_create(&t, NULL, strict_thread, NULL) == 0, "thread");
  while (!in_strict) usleep(1000);
  PROG_CHECK(seccomp_mode(strict_tid) == 1, "thread not in strict mode");
  prog_ready();
  prog_wait_go();
  PROG_CHECK(seccomp_mode(strict_tid) == 1, "strict mode lost (mode %d)", seccomp_mode(strict_tid));
  PROG_CHECK(seccomp_mode(gettid()) == 0, "main thread got seccomp");
  go_flag = 1;
  pthread_join(t, NULL);
  char buf[16] = {0};
  PROG_CHECK(pread(out_fd, buf, 9, 0) == 9 && strcmp(buf, "strict ok") == 0, "strict thread did not report");
  prog_pass();
}
