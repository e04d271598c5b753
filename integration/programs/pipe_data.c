// A pipe with 1000 bytes unread, its size raised to 128 KiB with
// F_SETPIPE_SZ, its read end O_NONBLOCK. After restore the size and flags
// are the same, exactly those 1000 bytes come out, then EAGAIN.
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <unistd.h>

#include "prog.h"

#define LEN 1000
#define PIPE_SIZE (128 * 1024)

static unsigned char byte_at(int i) { return (unsigned char)((unsigned)i * 2654435761u >> 13); }

int main(int argc, char** argv) {
  prog_init(argc, argv);
  int p[2];
  PROG_CHECK(pipe(p) == 0, "pipe");
  PROG_CHECK(fcntl(p[0], F_SETPIPE_SZ, PIPE_SIZE) == PIPE_SIZE, "F_SETPIPE_SZ");
  unsigned char buf[2 * LEN];
  for (int i = 0; i < LEN; i++) buf[i] = byte_at(i);
  PROG_CHECK(write(p[1], buf, LEN) == LEN, "write");
  PROG_CHECK(fcntl(p[0], F_SETFL, O_NONBLOCK) == 0, "O_NONBLOCK");
  prog_ready();
  prog_wait_go();
  PROG_CHECK(fcntl(p[0], F_GETPIPE_SZ) == PIPE_SIZE, "pipe size %d, want %d", fcntl(p[0], F_GETPIPE_SZ), PIPE_SIZE);
  PROG_CHECK(fcntl(p[0], F_GETFL) & O_NONBLOCK, "read end lost O_NONBLOCK");
  PROG_CHECK(!(fcntl(p[1], F_GETFL) & O_NONBLOCK), "write end became O_NONBLOCK");
  int got = 0;
  for (;;) {
    ssize_t n = read(p[0], buf + got, sizeof buf - (size_t)got);
    if (n < 0 && errno == EAGAIN) break;
    PROG_CHECK(n > 0, "read after %d bytes", got);
    got += (int)n;
  }
  PROG_CHECK(got == LEN, "%d bytes in the pipe, want %d", got, LEN);
  for (int i = 0; i < LEN; i++) PROG_CHECK(buf[i] == byte_at(i), "byte %d", i);
  PROG_CHECK(write(p[1], "x", 1) == 1 && read(p[0], buf, 2) == 1 && buf[0] == 'x', "pipe no longer works");
  prog_pass();
}
