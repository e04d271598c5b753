// flock() locks (dumped with --file-locks, per the .flags sidecar). The
// root holds LOCK_EX on file "flock-ex"; on file "flock-sh" both the root
// and child 0 hold LOCK_SH, each through its own open. After restore:
//   - a checker process forked after go opens both files afresh: LOCK_EX
//     with LOCK_NB fails with EWOULDBLOCK on both, LOCK_SH succeeds on
//     "flock-sh" only (so its locks are still shared, not exclusive);
//   - /proc/locks has one FLOCK WRITE entry for "flock-ex" with the root's
//     pid and two FLOCK READ entries for "flock-sh", the root's and the
//     child's, and nothing else on these files;
//   - the locks belong to the right open files: once the child unlocks,
//     the root can upgrade its LOCK_SH to LOCK_EX without blocking, and
//     once the root unlocks "flock-ex", a fresh open can lock it.
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "prog.h"

static int open_file(const char* name) {
  int fd = open(name, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  PROG_CHECK(fd >= 0, "open %s", name);
  return fd;
}

// In a process that holds no lock on `name`: what a fresh open can take.
static void check_fresh(const char* name, bool shared_ok) {
  int fd = open_file(name);
  errno = 0;
  PROG_CHECK(flock(fd, LOCK_EX | LOCK_NB) < 0 && errno == EWOULDBLOCK, "%s: LOCK_EX on a fresh open did not block",
             name);
  int r = flock(fd, LOCK_SH | LOCK_NB);
  if (shared_ok)
    PROG_CHECK(r == 0, "%s: LOCK_SH on a fresh open failed: not a shared lock", name);
  else
    PROG_CHECK(r < 0 && errno == EWOULDBLOCK, "%s: LOCK_SH on a fresh open did not block", name);
  close(fd);
}

// The entries of /proc/locks on file `st`: returns how many are FLOCK
// locks of type `type` ("READ" or "WRITE") held by `pid`; *total gets
// how many there are in all on that file.
static int count_locks(const struct stat* st, const char* type, pid_t pid, int* total) {
  FILE* f = fopen("/proc/locks", "re");
  PROG_CHECK(f != NULL, "open /proc/locks");
  char line[256];
  int n = 0;
  *total = 0;
  while (fgets(line, sizeof line, f) != NULL) {
    char kind[16], adv[16], rw[16];
    int lpid;
    unsigned maj, min;
    unsigned long long ino;
    // "1: FLOCK  ADVISORY  WRITE 1234 fd:01:5678 0 EOF"; "-> ..." lines
    // (blocked waiters) do not match the leading "N:".
    if (sscanf(line, "%*d: %15s %15s %15s %d %x:%x:%llu", kind, adv, rw, &lpid, &maj, &min, &ino) != 7) continue;
    if (ino != (unsigned long long)st->st_ino || maj != major(st->st_dev) || min != minor(st->st_dev)) continue;
    (*total)++;
    if (strcmp(kind, "FLOCK") == 0 && strcmp(rw, type) == 0 && lpid == pid) n++;
  }
  fclose(f);
  return n;
}

static void check_proc_locks(const struct stat* ex, const struct stat* sh, pid_t root, pid_t child) {
  int total;
  int n = count_locks(ex, "WRITE", root, &total);
  PROG_CHECK(n == 1 && total == 1, "/proc/locks: flock-ex has %d FLOCK WRITE entries of the root %d, %d in all", n,
             root, total);
  n = count_locks(sh, "READ", root, &total);
  int m = count_locks(sh, "READ", child, &total);
  PROG_CHECK(n == 1 && m == 1 && total == 2,
             "/proc/locks: flock-sh has %d FLOCK READ entries of the root %d, %d of the child %d, %d in all", n, root,
             m, child, total);
}

int main(int argc, char** argv) {
  prog_init(argc, argv);
  pid_t root = getpid();
  int ex = open_file("flock-ex");
  int sh = open_file("flock-sh");
  PROG_CHECK(flock(ex, LOCK_EX | LOCK_NB) == 0, "root: LOCK_EX flock-ex");
  PROG_CHECK(flock(sh, LOCK_SH | LOCK_NB) == 0, "root: LOCK_SH flock-sh");
  struct stat ex_st, sh_st;
  PROG_CHECK(fstat(ex, &ex_st) == 0 && fstat(sh, &sh_st) == 0, "fstat");

  pid_t c = prog_fork_child(0);
  if (c == 0) {
    // Its own open: an inherited fd would share the root's lock.
    close(ex), close(sh);
    int mine = open_file("flock-sh");
    PROG_CHECK(flock(mine, LOCK_SH | LOCK_NB) == 0, "child: LOCK_SH flock-sh");
    prog_child_ready(0);
    prog_wait_go();
    prog_wait_mark("checked");
    PROG_CHECK(flock(mine, LOCK_UN) == 0, "child: unlock flock-sh");
    prog_mark("child-unlocked");
    prog_pass();
  }
  prog_wait_children_ready(1);
  check_proc_locks(&ex_st, &sh_st, root, c);  // before the dump: the parser works
  prog_ready();
  prog_wait_go();

  pid_t k = prog_fork_child(1);
  if (k == 0) {
    close(ex), close(sh);
    check_fresh("flock-ex", false);
    check_fresh("flock-sh", true);
    prog_pass();
  }
  prog_check_child(k, 1);
  check_proc_locks(&ex_st, &sh_st, root, c);
  prog_mark("checked");
  prog_wait_mark("child-unlocked");
  PROG_CHECK(flock(sh, LOCK_EX | LOCK_NB) == 0, "root: cannot upgrade flock-sh to LOCK_EX after the child unlocked");
  PROG_CHECK(flock(ex, LOCK_UN) == 0, "root: unlock flock-ex");
  int fresh = open_file("flock-ex");
  PROG_CHECK(flock(fresh, LOCK_EX | LOCK_NB) == 0, "flock-ex is still locked after the root unlocked it");
  prog_check_child(c, 0);
  prog_pass();
}
