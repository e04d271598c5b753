// A memfd holding a program (this one: run with "exit7" it exits 7 at
// once; a script would need /dev/fd, which containers may lack), with
// mode 0751 set by fchmod, held O_RDWR
// (the memfd_create() fd), reopened read-only, mapped private through
// the read-only fd and shared writable through the first: after restore
// its mode is the same and execveat() of it still works (no writer of
// the inode but the memfd_create() file: ETXTBSY otherwise).
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "prog.h"


static int run(int fd) {
  pid_t pid = fork();
  if (pid == 0) {
    char* argv[] = {"prog", "exit7", NULL};
    char* envp[] = {NULL};
    syscall(SYS_execveat, fd, "", argv, envp, AT_EMPTY_PATH);
    _exit(100 + (errno & 0x1f));
  }
  int status = 0;
  waitpid(pid, &status, 0);
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

int main(int argc, char** argv) {
  if (argc == 2 && strcmp(argv[1], "exit7") == 0) _exit(7);
  prog_init(argc, argv);
  int fd = (int)syscall(SYS_memfd_create, "prog", 0);
  PROG_CHECK(fd >= 0, "memfd_create");
  int self = open("/proc/self/exe", O_RDONLY);
  PROG_CHECK(self >= 0, "open /proc/self/exe");
  char buf[65536];
  ssize_t n;
  while ((n = read(self, buf, sizeof buf)) > 0) PROG_CHECK(write(fd, buf, (size_t)n) == n, "write");
  close(self);
  PROG_CHECK(fchmod(fd, 0751) == 0, "fchmod");
  char path[64];
  snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
  int ro = open(path, O_RDONLY);
  PROG_CHECK(ro >= 0, "reopen read-only");
  char* priv = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE, ro, 0);
  char* shared = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  PROG_CHECK(priv != MAP_FAILED && shared != MAP_FAILED, "mmap");
  priv[0] = '?';  // a private copy: the file keeps its ELF magic
  int got = run(fd);
  PROG_CHECK(got == 7, "execveat before the dump: %d", got);
  prog_ready();
  prog_wait_go();
  struct stat st;
  PROG_CHECK(fstat(fd, &st) == 0, "fstat");
  PROG_CHECK((st.st_mode & 07777) == 0751, "mode %o, want 751", st.st_mode & 07777);
  PROG_CHECK(priv[0] == '?' && shared[0] == 0x7f, "mappings: %c %c", priv[0], shared[0]);
  PROG_CHECK((fcntl(fd, F_GETFL) & O_ACCMODE) == O_RDWR && (fcntl(ro, F_GETFL) & O_ACCMODE) == O_RDONLY,
             "fd modes");
  got = run(fd);
  PROG_CHECK(got == 7, "execveat after restore: status %d (100+errno when it failed)", got);
  prog_pass();
}
