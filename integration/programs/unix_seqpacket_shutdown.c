// SOCK_SEQPACKET pairs with records queued both ways, of several sizes,
// empty ones among them (first, middle and last), SIGPIPE ignored:
//   A: nothing shut down;
//   B: b0 sent its records, then shutdown(SHUT_WR);
//   C: c1 sent its records, then c0 did shutdown(SHUT_RDWR);
//   D: d1 sent its records and closed (d0 holds them, its peer is gone).
// After restore every record arrives whole, in order, with its size; then
// A and C: EAGAIN (C: still records from before); B's b1 and D's d0: EOF
// (0) at once; a send on b0, on c0 and on d0 fails with EPIPE.
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "prog.h"

static const int kSizes[] = {0, 1, 4096, 0, 70000, 17, 0};
#define N (int)(sizeof kSizes / sizeof kSizes[0])

static unsigned char buf[80 * 1024];

static unsigned char byte_at(int seed, int i) { return (unsigned char)(seed * 29 + i * 7 + i / 300); }

static void send_all(int fd, int seed) {
  for (int m = 0; m < N; m++) {
    for (int i = 0; i < kSizes[m]; i++) buf[i] = byte_at(seed + m, i);
    PROG_CHECK(send(fd, buf, (size_t)kSizes[m], 0) == kSizes[m], "send record %d (%d bytes)", m, kSizes[m]);
  }
}

// Reads the records; then `end` is 0 (EOF expected) or EAGAIN.
static void recv_all(int fd, int seed, int end, const char* what) {
  for (int m = 0; m < N; m++) {
    ssize_t n = recv(fd, buf, sizeof buf, MSG_DONTWAIT | MSG_TRUNC);
    PROG_CHECK(n == kSizes[m], "%s: record %d has %zd bytes, want %d", what, m, n, kSizes[m]);
    for (int i = 0; i < kSizes[m]; i++) PROG_CHECK(buf[i] == byte_at(seed + m, i), "%s: record %d, byte %d", what, m, i);
  }
  ssize_t n = recv(fd, buf, sizeof buf, MSG_DONTWAIT);
  if (end == 0) PROG_CHECK(n == 0, "%s: %zd after the records, want EOF", what, n);
  if (end == EAGAIN) PROG_CHECK(n < 0 && errno == EAGAIN, "%s: %zd after the records, want EAGAIN", what, n);
}

static void pair(int sv[2]) { PROG_CHECK(socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sv) == 0, "socketpair"); }

static void send_fails(int fd, const char* what) {
  PROG_CHECK(send(fd, "x", 1, MSG_DONTWAIT) < 0 && errno == EPIPE, "%s: a send does not fail with EPIPE (errno %d)",
             what, errno);
}

int main(int argc, char** argv) {
  prog_init(argc, argv);
  signal(SIGPIPE, SIG_IGN);
  int a[2], b[2], c[2], d[2];
  pair(a);
  send_all(a[0], 1);
  send_all(a[1], 20);
  pair(b);
  send_all(b[0], 40);
  send_all(b[1], 60);
  PROG_CHECK(shutdown(b[0], SHUT_WR) == 0, "shutdown b0");
  pair(c);
  send_all(c[1], 80);
  send_all(c[0], 100);
  PROG_CHECK(shutdown(c[0], SHUT_RDWR) == 0, "shutdown c0");
  pair(d);
  send_all(d[1], 120);
  close(d[1]);
  prog_ready();
  prog_wait_go();
  recv_all(a[1], 1, EAGAIN, "A, a1");
  recv_all(a[0], 20, EAGAIN, "A, a0");
  recv_all(b[1], 40, 0, "B, b1");
  recv_all(b[0], 60, EAGAIN, "B, b0");
  send_fails(b[0], "B, b0");
  recv_all(c[0], 80, 0, "C, c0");
  recv_all(c[1], 100, 0, "C, c1");
  send_fails(c[0], "C, c0");
  recv_all(d[0], 120, 0, "D, d0");
  send_fails(d[0], "D, d0");
  prog_pass();
}
