// A FIFO in the prog dir opened twice, O_RDWR and O_RDONLY|O_NONBLOCK,
// with 300 bytes in it unread. After restore both fds are the FIFO, the
// bytes come out of the read-only one, then EAGAIN, and data written
// through the O_RDWR one arrives.
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "prog.h"

#define LEN 300

static unsigned char byte_at(int i) { return (unsigned char)(i * 31 + 3); }

int main(int argc, char** argv) {
  prog_init(argc, argv);
  PROG_CHECK(mkfifo("fifo", 0600) == 0, "mkfifo");
  int rw = open("fifo", O_RDWR);
  int rd = open("fifo", O_RDONLY | O_NONBLOCK);
  PROG_CHECK(rw >= 0 && rd >= 0, "open fifo");
  unsigned char buf[2 * LEN];
  for (int i = 0; i < LEN; i++) buf[i] = byte_at(i);
  PROG_CHECK(write(rw, buf, LEN) == LEN, "write");
  struct stat before;
  PROG_CHECK(stat("fifo", &before) == 0, "stat");
  prog_ready();
  prog_wait_go();
  struct stat a, b;
  PROG_CHECK(fstat(rw, &a) == 0 && fstat(rd, &b) == 0, "fstat");
  PROG_CHECK(S_ISFIFO(a.st_mode) && S_ISFIFO(b.st_mode), "not FIFOs any more");
  PROG_CHECK(a.st_ino == before.st_ino && b.st_ino == before.st_ino, "not the FIFO in the prog dir");
  PROG_CHECK((fcntl(rw, F_GETFL) & (O_ACCMODE | O_NONBLOCK)) == O_RDWR, "O_RDWR fd flags %#x", fcntl(rw, F_GETFL));
  PROG_CHECK((fcntl(rd, F_GETFL) & (O_ACCMODE | O_NONBLOCK)) == (O_RDONLY | O_NONBLOCK), "read fd flags %#x",
             fcntl(rd, F_GETFL));
  int got = 0;
  for (;;) {
    ssize_t n = read(rd, buf + got, sizeof buf - (size_t)got);
    if (n < 0 && errno == EAGAIN) break;
    PROG_CHECK(n > 0, "read after %d bytes", got);
    got += (int)n;
  }
  PROG_CHECK(got == LEN, "%d bytes in the FIFO, want %d", got, LEN);
  for (int i = 0; i < LEN; i++) PROG_CHECK(buf[i] == byte_at(i), "byte %d", i);
  PROG_CHECK(write(rw, "again", 5) == 5 && read(rd, buf, 10) == 5, "new data does not go through");
  prog_pass();
}
