// A shell-like pipeline a | b | c: three children joined by two pipes,
// with data in flight in both pipes at dump time (a wrote 40000 bytes, b
// forwarded 25000 of them transformed, c consumed 10000). After restore
// they go on: a writes the rest of a 1 MiB stream and closes, b forwards
// to EOF, c checks every byte at its position (nothing lost, nothing
// repeated) and that EOF comes after exactly the whole stream.
#define _GNU_SOURCE
#include <sys/ioctl.h>
#include <unistd.h>

#include "prog.h"

#define TOTAL (1 << 20)
#define A_FIRST 40000  // written by a before the dump
#define B_FIRST 25000  // forwarded by b before the dump
#define C_FIRST 10000  // consumed by c before the dump

static unsigned char byte_at(unsigned i) { return (unsigned char)(i * 2654435761u >> 13); }
static unsigned char transform(unsigned char x) { return x ^ 0x5a; }

static int p1[2], p2[2];  // a -> b, b -> c

static void write_all(int fd, const unsigned char* buf, size_t len) {
  while (len > 0) {
    ssize_t n = write(fd, buf, len);
    PROG_CHECK(n > 0, "write");
    buf += n, len -= (size_t)n;
  }
}

// Writes stream bytes [from, to) to fd.
static void a_write(unsigned from, unsigned to) {
  unsigned char buf[4096];
  while (from < to) {
    unsigned n = to - from < sizeof buf ? to - from : (unsigned)sizeof buf;
    for (unsigned k = 0; k < n; k++) buf[k] = byte_at(from + k);
    write_all(p1[1], buf, n);
    from += n;
  }
}

// Forwards up to `limit` bytes (or to EOF) from p1 to p2; returns how many.
static unsigned b_forward(unsigned limit) {
  unsigned char buf[4096];
  unsigned done = 0;
  while (done < limit) {
    size_t want = limit - done < sizeof buf ? limit - done : sizeof buf;
    ssize_t n = read(p1[0], buf, want);
    PROG_CHECK(n >= 0, "b: read");
    if (n == 0) break;
    for (ssize_t k = 0; k < n; k++) buf[k] = transform(buf[k]);
    write_all(p2[1], buf, (size_t)n);
    done += (unsigned)n;
  }
  return done;
}

// Reads and checks up to `limit` bytes (or to EOF) from p2, stream
// position `*pos` on; returns how many.
static unsigned c_consume(unsigned* pos, unsigned limit) {
  unsigned char buf[4096];
  unsigned done = 0;
  while (done < limit) {
    size_t want = limit - done < sizeof buf ? limit - done : sizeof buf;
    ssize_t n = read(p2[0], buf, want);
    PROG_CHECK(n >= 0, "c: read");
    if (n == 0) break;
    for (ssize_t k = 0; k < n; k++, (*pos)++)
      PROG_CHECK(buf[k] == transform(byte_at(*pos)), "c: byte %u is %#x, want %#x", *pos, buf[k],
                 transform(byte_at(*pos)));
    done += (unsigned)n;
  }
  return done;
}

static int in_pipe(int fd) {
  int n = -1;
  PROG_CHECK(ioctl(fd, FIONREAD, &n) == 0, "FIONREAD");
  return n;
}

int main(int argc, char** argv) {
  prog_init(argc, argv);
  PROG_CHECK(pipe(p1) == 0 && pipe(p2) == 0, "pipe");
  pid_t a = prog_fork_child(0);
  if (a == 0) {
    close(p1[0]), close(p2[0]), close(p2[1]);
    a_write(0, A_FIRST);
    prog_child_ready(0);
    prog_wait_go();
    a_write(A_FIRST, TOTAL);
    close(p1[1]);
    prog_pass();
  }
  pid_t b = prog_fork_child(1);
  if (b == 0) {
    close(p1[1]), close(p2[0]);
    prog_wait_mark("ready-0");
    PROG_CHECK(b_forward(B_FIRST) == B_FIRST, "b: short first part");
    PROG_CHECK(in_pipe(p1[0]) == A_FIRST - B_FIRST, "b: %d bytes left in a's pipe", in_pipe(p1[0]));
    prog_child_ready(1);
    prog_wait_go();
    PROG_CHECK(b_forward(TOTAL) == TOTAL - B_FIRST, "b: the rest of the stream has the wrong length");
    close(p2[1]);
    prog_pass();
  }
  pid_t c = prog_fork_child(2);
  if (c == 0) {
    close(p1[0]), close(p1[1]), close(p2[1]);
    prog_wait_mark("ready-1");
    unsigned pos = 0;
    PROG_CHECK(c_consume(&pos, C_FIRST) == C_FIRST, "c: short first part");
    PROG_CHECK(in_pipe(p2[0]) == B_FIRST - C_FIRST, "c: %d bytes left in b's pipe", in_pipe(p2[0]));
    prog_child_ready(2);
    prog_wait_go();
    c_consume(&pos, TOTAL);
    PROG_CHECK(pos == TOTAL, "c: EOF after %u bytes, want %u", pos, TOTAL);
    prog_pass();
  }
  close(p1[0]), close(p1[1]), close(p2[0]), close(p2[1]);
  prog_wait_children_ready(3);
  prog_ready();
  prog_wait_go();
  // c first: when it fails, b and a die of SIGPIPE and c has the reason.
  prog_check_child(c, 2);
  prog_check_child(b, 1);
  prog_check_child(a, 0);
  prog_pass();
}
