// An open file description lock (dumped with --file-locks, per the .flags
// sidecar): F_OFD_SETLK write lock on bytes 10-19 of file "ofd-lock",
// through fd `holder`. After restore, from a second open of the file
// (another open file description, in the same process):
//   - F_OFD_GETLK for a write lock on 0-99 finds a F_WRLCK on 10-19 with
//     l_pid -1 (an OFD lock); 20-29 and 0-9 are free;
//   - F_OFD_SETLK of a read lock on 15 fails with EAGAIN.
// And the holder still owns it through its fd: it downgrades it to a read
// lock (the other open can then read-lock, not write-lock 10-19),
// upgrades it back to a write lock, unlocks it, and then the other open
// can write-lock 10-19.
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <unistd.h>

#include "prog.h"

static struct flock range(short type, off_t start, off_t len) {
  struct flock fl = {0};  // l_pid must be 0 for OFD locks
  fl.l_type = type;
  fl.l_whence = SEEK_SET;
  fl.l_start = start;
  fl.l_len = len;
  return fl;
}

static const char* type_name(short t) {
  return t == F_RDLCK ? "F_RDLCK" : t == F_WRLCK ? "F_WRLCK" : t == F_UNLCK ? "F_UNLCK" : "?";
}

// F_OFD_GETLK for `type` on [start, start+len) through fd: the conflicting
// lock's type (F_UNLCK: none); a conflict must be our lock on 10-19.
static short probe(int fd, short type, off_t start, off_t len) {
  struct flock fl = range(type, start, len);
  PROG_CHECK(fcntl(fd, F_OFD_GETLK, &fl) == 0, "F_OFD_GETLK");
  if (fl.l_type != F_UNLCK)
    PROG_CHECK(fl.l_start == 10 && fl.l_len == 10 && fl.l_pid == -1,
               "%s on %ld+%ld conflicts with a %s on %ld+%ld of pid %d, want one on 10+10 of pid -1", type_name(type),
               (long)start, (long)len, type_name(fl.l_type), (long)fl.l_start, (long)fl.l_len, fl.l_pid);
  return fl.l_type;
}

static void set(int fd, short type, off_t start, off_t len, const char* what) {
  struct flock fl = range(type, start, len);
  PROG_CHECK(fcntl(fd, F_OFD_SETLK, &fl) == 0, "%s", what);
}

int main(int argc, char** argv) {
  prog_init(argc, argv);
  int holder = open("ofd-lock", O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  PROG_CHECK(holder >= 0, "open ofd-lock");
  set(holder, F_WRLCK, 10, 10, "F_OFD_SETLK write 10-19");
  prog_ready();
  prog_wait_go();

  int other = open("ofd-lock", O_RDWR | O_CLOEXEC);
  PROG_CHECK(other >= 0, "second open of ofd-lock");
  short t = probe(other, F_WRLCK, 0, 100);
  PROG_CHECK(t == F_WRLCK, "write lock on 0-99: conflict %s, want our F_WRLCK on 10-19", type_name(t));
  PROG_CHECK(probe(other, F_WRLCK, 20, 10) == F_UNLCK, "20-29 is locked");
  PROG_CHECK(probe(other, F_WRLCK, 0, 10) == F_UNLCK, "0-9 is locked");
  struct flock fl = range(F_RDLCK, 15, 1);
  errno = 0;
  PROG_CHECK(fcntl(other, F_OFD_SETLK, &fl) < 0 && errno == EAGAIN, "read lock on 15 from another open did not fail");

  set(holder, F_RDLCK, 10, 10, "holder: downgrade to a read lock");
  t = probe(other, F_WRLCK, 10, 10);
  PROG_CHECK(t == F_RDLCK, "after the downgrade: conflict %s, want F_RDLCK", type_name(t));
  PROG_CHECK(probe(other, F_RDLCK, 10, 10) == F_UNLCK, "after the downgrade a read lock still conflicts");
  set(holder, F_WRLCK, 10, 10, "holder: upgrade back to a write lock");
  t = probe(other, F_RDLCK, 10, 10);
  PROG_CHECK(t == F_WRLCK, "after the upgrade: conflict %s, want F_WRLCK", type_name(t));
  set(holder, F_UNLCK, 10, 10, "holder: unlock");
  PROG_CHECK(probe(other, F_WRLCK, 0, 0) == F_UNLCK, "still locked after the holder unlocked");
  set(other, F_WRLCK, 10, 10, "the other open cannot write-lock 10-19 after the holder unlocked");
  prog_pass();
}
