// Two SOCK_STREAM socketpairs with one side shut down (SIGPIPE ignored):
//   pair A: a0 wrote 100 bytes, then shutdown(SHUT_WR);
//   pair B: b1 wrote 50 bytes to b0, then b0 did shutdown(SHUT_RD).
// After restore:
//   - a1 reads the 100 bytes, then EOF (0) at once, not EAGAIN;
//   - a write on a0 fails with EPIPE; a1 can still write to a0;
//   - b0 still reads the 50 bytes queued before its shutdown, then EOF;
//   - a write on b1 fails with EPIPE; b0 can still write to b1.
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "prog.h"

static unsigned char byte_at(int i) { return (unsigned char)(i * 37 + 11); }

static void write_pattern(int fd, int len) {
  unsigned char buf[128];
  for (int i = 0; i < len; i++) buf[i] = byte_at(i);
  PROG_CHECK(write(fd, buf, (size_t)len) == len, "write %d bytes", len);
}

// Reads exactly len pattern bytes, then expects EOF without blocking.
static void read_then_eof(int fd, int len, const char* what) {
  unsigned char buf[128];
  int got = 0;
  while (got < len) {
    ssize_t n = recv(fd, buf + got, (size_t)(len - got), MSG_DONTWAIT);
    PROG_CHECK(n > 0, "%s: %d of %d bytes, then %zd", what, got, len, n);
    got += (int)n;
  }
  for (int i = 0; i < len; i++) PROG_CHECK(buf[i] == byte_at(i), "%s: byte %d", what, i);
  ssize_t n = recv(fd, buf, sizeof buf, MSG_DONTWAIT);
  PROG_CHECK(n == 0, "%s: after the data, recv gave %zd, want EOF (0)", what, n);
}

static void write_fails_epipe(int fd, const char* what) {
  errno = 0;
  ssize_t n = write(fd, "x", 1);
  PROG_CHECK(n < 0 && errno == EPIPE, "%s: write gave %zd, want EPIPE", what, n);
}

// One byte each way on the direction that is still open.
static void still_open(int from, int to, const char* what) {
  char c = 0;
  PROG_CHECK(write(from, "y", 1) == 1, "%s: write", what);
  PROG_CHECK(recv(to, &c, 1, MSG_DONTWAIT) == 1 && c == 'y', "%s: the byte did not arrive", what);
}

int main(int argc, char** argv) {
  prog_init(argc, argv);
  PROG_CHECK(signal(SIGPIPE, SIG_IGN) != SIG_ERR, "signal");
  int a[2], b[2];
  PROG_CHECK(socketpair(AF_UNIX, SOCK_STREAM, 0, a) == 0 && socketpair(AF_UNIX, SOCK_STREAM, 0, b) == 0,
             "socketpair");
  write_pattern(a[0], 100);
  PROG_CHECK(shutdown(a[0], SHUT_WR) == 0, "shutdown a0 SHUT_WR");
  write_pattern(b[1], 50);
  PROG_CHECK(shutdown(b[0], SHUT_RD) == 0, "shutdown b0 SHUT_RD");
  prog_ready();
  prog_wait_go();

  PROG_CHECK(signal(SIGPIPE, SIG_IGN) == SIG_IGN, "SIGPIPE is no longer ignored");
  read_then_eof(a[1], 100, "pair A, a1");
  write_fails_epipe(a[0], "pair A, a0 (SHUT_WR)");
  still_open(a[1], a[0], "pair A, a1 -> a0");
  read_then_eof(b[0], 50, "pair B, b0 (SHUT_RD)");
  write_fails_epipe(b[1], "pair B, b1 (peer did SHUT_RD)");
  still_open(b[0], b[1], "pair B, b0 -> b1");
  prog_pass();
}
