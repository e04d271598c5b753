// POSIX record locks (dumped with --file-locks, per the .flags sidecar).
// The root holds, through fcntl(F_SETLK) on one fd, a write lock on bytes
// 0-99 of file "posix-lock" and a read lock on bytes 200-299. After
// restore a checker process forked after go opens the file afresh and
// asks F_GETLK:
//   - a write lock on 0-99 conflicts with a F_WRLCK on 0-99 held by the
//     root's pid; one on 200-299 with a F_RDLCK on 200-299 of the root;
//   - a read lock on 200-299 has no conflict (the lock is shared);
//   - bytes 100-199 (byte 150 among them) and 300 on are free;
//   - F_SETLK on 0-99 fails with EAGAIN/EACCES.
// Then the root unlocks 0-99 and a second checker finds 0-99 free and
// 200-299 still read-locked: the locks are the root's own.
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <unistd.h>

#include "prog.h"

static struct flock range(short type, off_t start, off_t len) {
  struct flock fl = {0};
  fl.l_type = type;
  fl.l_whence = SEEK_SET;
  fl.l_start = start;
  fl.l_len = len;
  return fl;
}

static const char* type_name(short t) {
  return t == F_RDLCK ? "F_RDLCK" : t == F_WRLCK ? "F_WRLCK" : t == F_UNLCK ? "F_UNLCK" : "?";
}

// F_GETLK for a lock of `type` on [start, start+len): checks the answer
// is a lock of `want` on [wstart, wstart+wlen) held by `pid`, or no
// conflict at all when want is F_UNLCK.
static void expect(int fd, short type, off_t start, off_t len, short want, off_t wstart, off_t wlen, pid_t pid) {
  struct flock fl = range(type, start, len);
  PROG_CHECK(fcntl(fd, F_GETLK, &fl) == 0, "F_GETLK");
  if (want == F_UNLCK) {
    PROG_CHECK(fl.l_type == F_UNLCK, "%s on %ld+%ld: conflicts with a %s on %ld+%ld of pid %d, want free",
               type_name(type), (long)start, (long)len, type_name(fl.l_type), (long)fl.l_start, (long)fl.l_len,
               fl.l_pid);
    return;
  }
  PROG_CHECK(fl.l_type == want && fl.l_start == wstart && fl.l_len == wlen && fl.l_pid == pid,
             "%s on %ld+%ld: got %s on %ld+%ld of pid %d, want %s on %ld+%ld of pid %d", type_name(type), (long)start,
             (long)len, type_name(fl.l_type), (long)fl.l_start, (long)fl.l_len, fl.l_pid, type_name(want), (long)wstart,
             (long)wlen, pid);
}

static int open_file(void) {
  int fd = open("posix-lock", O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  PROG_CHECK(fd >= 0, "open posix-lock");
  return fd;
}

// Forks checker n, which checks the locks from its own fresh open; the
// root reaps it. With `first`, 0-99 must be write-locked, else free.
static void run_checker(int n, pid_t root, bool first) {
  pid_t k = prog_fork_child(n);
  if (k == 0) {
    int fd = open_file();
    if (first) {
      expect(fd, F_WRLCK, 0, 100, F_WRLCK, 0, 100, root);
      expect(fd, F_RDLCK, 50, 1, F_WRLCK, 0, 100, root);
      struct flock fl = range(F_WRLCK, 0, 100);
      errno = 0;
      PROG_CHECK(fcntl(fd, F_SETLK, &fl) < 0 && (errno == EAGAIN || errno == EACCES),
                 "F_SETLK on 0-99 did not fail with EAGAIN");
    } else {
      expect(fd, F_WRLCK, 0, 100, F_UNLCK, 0, 0, 0);
    }
    expect(fd, F_WRLCK, 200, 100, F_RDLCK, 200, 100, root);
    expect(fd, F_RDLCK, 200, 100, F_UNLCK, 0, 0, 0);
    expect(fd, F_WRLCK, 150, 1, F_UNLCK, 0, 0, 0);
    expect(fd, F_WRLCK, 100, 100, F_UNLCK, 0, 0, 0);
    expect(fd, F_WRLCK, 300, 0, F_UNLCK, 0, 0, 0);  // 300 to EOF and beyond
    close(fd);
    prog_pass();
  }
  prog_check_child(k, n);
}

int main(int argc, char** argv) {
  prog_init(argc, argv);
  pid_t root = getpid();
  // One fd for the whole run: closing any fd of the file would drop the
  // process's locks on it.
  int fd = open_file();
  struct flock w = range(F_WRLCK, 0, 100), r = range(F_RDLCK, 200, 100);
  PROG_CHECK(fcntl(fd, F_SETLK, &w) == 0, "F_SETLK write 0-99");
  PROG_CHECK(fcntl(fd, F_SETLK, &r) == 0, "F_SETLK read 200-299");
  prog_ready();
  prog_wait_go();
  run_checker(0, root, true);
  struct flock u = range(F_UNLCK, 0, 100);
  PROG_CHECK(fcntl(fd, F_SETLK, &u) == 0, "F_SETLK unlock 0-99");
  run_checker(1, root, false);
  prog_pass();
}
