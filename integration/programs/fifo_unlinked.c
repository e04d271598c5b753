// A FIFO unlinked while open at both ends, with unread bytes in it: after
// restore both fds are the one FIFO again (what the writer writes the
// reader reads, after the bytes that were queued), it has no links, its
// mode is kept, and its name did not come back.
#define _GNU_SOURCE
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "prog.h"

int main(int argc, char** argv) {
  prog_init(argc, argv);
  PROG_CHECK(mkfifo("gone.fifo", 0620) == 0, "mkfifo");
  PROG_CHECK(chmod("gone.fifo", 0620) == 0, "chmod");
  int r = open("gone.fifo", O_RDONLY | O_NONBLOCK);
  int w = open("gone.fifo", O_WRONLY);
  PROG_CHECK(r >= 0 && w >= 0, "open");
  PROG_CHECK(write(w, "queued", 6) == 6, "write");
  PROG_CHECK(unlink("gone.fifo") == 0, "unlink");
  prog_ready();
  prog_wait_go();

  struct stat a, b;
  PROG_CHECK(fstat(r, &a) == 0 && fstat(w, &b) == 0, "fstat");
  PROG_CHECK(S_ISFIFO(a.st_mode) && a.st_ino == b.st_ino && a.st_dev == b.st_dev, "two FIFOs now");
  PROG_CHECK(a.st_nlink == 0 && (a.st_mode & 07777) == 0620, "links %lu mode %o", (unsigned long)a.st_nlink,
             a.st_mode & 07777);
  PROG_CHECK(write(w, "+more", 5) == 5, "write after");
  char buf[32] = {0};
  PROG_CHECK(read(r, buf, sizeof buf) == 11 && memcmp(buf, "queued+more", 11) == 0, "read '%s'", buf);
  PROG_CHECK((fcntl(r, F_GETFL) & O_NONBLOCK) && (fcntl(r, F_GETFL) & O_ACCMODE) == O_RDONLY, "reader flags");
  PROG_CHECK(access("gone.fifo", F_OK) != 0, "the name came back");
  prog_pass();
}
