// Input a pty's slave has not read yet. Pty A is in canonical mode with
// echo on: "one\ntwo\npar" was typed on its master (the echo already
// drained), so two whole lines and a line not yet ended wait. Pty B is in
// raw mode with 6 bytes waiting (control bytes among them). After restore:
// the master sees no new echo; A's slave reads "one\n", then "two\n";
// once "tial\n" is typed, "partial\n"; B's slave reads its 6 bytes.
#define _GNU_SOURCE
#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <termios.h>
#include <unistd.h>

#include "prog.h"

static const char kRaw[6] = {'r', 0x01, 0x7f, '\n', 0x03, 'w'};

static void open_pty(int* m, int* s) {
  *m = posix_openpt(O_RDWR | O_NOCTTY);
  PROG_CHECK(*m >= 0 && grantpt(*m) == 0 && unlockpt(*m) == 0, "posix_openpt");
  *s = open(ptsname(*m), O_RDWR | O_NOCTTY);
  PROG_CHECK(*s >= 0, "open slave");
}

static int pending(int fd) {
  int n = -1;
  PROG_CHECK(ioctl(fd, FIONREAD, &n) == 0, "FIONREAD");
  return n;
}

static void expect_read(int fd, const char* want, size_t len, const char* what) {
  char buf[64] = {0};
  struct pollfd p = {.fd = fd, .events = POLLIN};
  PROG_CHECK(poll(&p, 1, 5000) == 1, "%s: nothing to read", what);
  ssize_t n = read(fd, buf, sizeof buf);
  PROG_CHECK(n == (ssize_t)len && memcmp(buf, want, len) == 0, "%s: read %zd bytes", what, n);
}

int main(int argc, char** argv) {
  prog_init(argc, argv);
  int am, as, bm, bs;
  open_pty(&am, &as);
  open_pty(&bm, &bs);
  struct termios t;
  PROG_CHECK(tcgetattr(bs, &t) == 0, "tcgetattr");
  cfmakeraw(&t);
  PROG_CHECK(tcsetattr(bs, TCSANOW, &t) == 0, "raw mode");
  PROG_CHECK(write(am, "one\ntwo\npar", 11) == 11, "type on A");
  PROG_CHECK(write(bm, kRaw, sizeof kRaw) == (ssize_t)sizeof kRaw, "type on B");
  // A's echo ("one\r\ntwo\r\npar"): drained, so none is left at dump time.
  char echo[64];
  usleep(100000);
  PROG_CHECK(read(am, echo, sizeof echo) == 13, "A's echo");
  PROG_CHECK(pending(am) == 0 && pending(bm) == 0, "output left on the masters");
  PROG_CHECK(pending(as) == 8 && pending(bs) == 6, "unread input %d and %d", pending(as), pending(bs));
  prog_ready();
  prog_wait_go();
  PROG_CHECK(pending(am) == 0, "A's master has %d new bytes (echoed again?)", pending(am));
  PROG_CHECK(pending(bm) == 0, "B's master has %d new bytes", pending(bm));
  PROG_CHECK(pending(as) == 8, "A: %d bytes in whole lines, want 8", pending(as));
  expect_read(as, "one\n", 4, "A line 1");
  expect_read(as, "two\n", 4, "A line 2");
  PROG_CHECK(pending(as) == 0, "A: a whole line too many");
  PROG_CHECK(write(am, "tial\n", 5) == 5, "type the rest on A");
  expect_read(as, "partial\n", 8, "A line 3");
  expect_read(bs, kRaw, sizeof kRaw, "B");
  prog_pass();
}
