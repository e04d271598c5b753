// A pipe whose write end is closed everywhere, with 500 bytes left
// unread. After restore the 500 bytes come out, then read returns 0: the
// pipe must not get a writer back.
#define _GNU_SOURCE
#include <unistd.h>

#include "prog.h"

#define LEN 500

static unsigned char byte_at(int i) { return (unsigned char)(i * 7 + i / 13); }

int main(int argc, char** argv) {
  prog_init(argc, argv);
  int p[2];
  PROG_CHECK(pipe(p) == 0, "pipe");
  unsigned char buf[LEN + 100];
  for (int i = 0; i < LEN; i++) buf[i] = byte_at(i);
  PROG_CHECK(write(p[1], buf, LEN) == LEN, "write");
  PROG_CHECK(close(p[1]) == 0, "close write end");
  prog_ready();
  prog_wait_go();
  int got = 0;
  for (;;) {
    ssize_t n = read(p[0], buf + got, sizeof buf - (size_t)got);
    PROG_CHECK(n >= 0, "read after %d bytes", got);
    if (n == 0) break;
    got += (int)n;
  }
  PROG_CHECK(got == LEN, "%d bytes before EOF, want %d", got, LEN);
  for (int i = 0; i < LEN; i++) PROG_CHECK(buf[i] == byte_at(i), "byte %d", i);
  PROG_CHECK(read(p[0], buf, 1) == 0, "no EOF the second time");
  prog_pass();
}
