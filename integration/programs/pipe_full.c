// A pipe filled to capacity by a writer child that is blocked in one more
// write() at dump time. After restore the root drains it: every byte of
// the full pipe and of the blocked write arrives in order, the writer's
// write() completes with its full count, then EOF.
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "prog.h"

#define EXTRA 4096  // the blocked write

static unsigned char byte_at(unsigned i) { return (unsigned char)(i * 2654435761u >> 11); }

static void fill(unsigned char* buf, unsigned from, unsigned n) {
  for (unsigned k = 0; k < n; k++) buf[k] = byte_at(from + k);
}

// Whether pid sits in the write syscall (first field of /proc/PID/syscall).
static int in_write(pid_t pid) {
  char p[64], buf[64] = {0};
  snprintf(p, sizeof p, "/proc/%d/syscall", pid);
  int fd = open(p, O_RDONLY);
  if (fd < 0) return 0;
  ssize_t n = read(fd, buf, sizeof buf - 1);
  close(fd);
  int nr = -1;
  return n > 0 && sscanf(buf, "%d", &nr) == 1 && nr == SYS_write;
}

int main(int argc, char** argv) {
  prog_init(argc, argv);
  int p[2];
  PROG_CHECK(pipe(p) == 0, "pipe");
  pid_t w = prog_fork_child(0);
  if (w == 0) {
    close(p[0]);
    unsigned char buf[EXTRA];
    unsigned pos = 0;
    PROG_CHECK(fcntl(p[1], F_SETFL, O_NONBLOCK) == 0, "O_NONBLOCK");
    for (;;) {
      fill(buf, pos, sizeof buf);
      ssize_t n = write(p[1], buf, sizeof buf);
      if (n < 0 && errno == EAGAIN) break;
      PROG_CHECK(n == (ssize_t)sizeof buf, "write at %u", pos);
      pos += (unsigned)n;
    }
    PROG_CHECK(fcntl(p[1], F_SETFL, 0) == 0, "blocking again");
    prog_child_ready(0);
    ssize_t n = write(p[1], buf, EXTRA);  // blocks until the root drains
    PROG_CHECK(n == EXTRA, "the blocked write returned %zd", n);
    prog_wait_go();
    prog_pass();
  }
  close(p[1]);
  prog_wait_children_ready(1);
  for (int i = 0; !in_write(w); i++) {
    PROG_CHECK(i < 1000, "the writer is not blocked in write()");
    usleep(5000);
  }
  int cap = fcntl(p[0], F_GETPIPE_SZ), queued = -1;
  PROG_CHECK(ioctl(p[0], FIONREAD, &queued) == 0 && queued == cap, "%d bytes in a pipe of %d", queued, cap);
  prog_ready();
  prog_wait_go();
  PROG_CHECK(ioctl(p[0], FIONREAD, &queued) == 0 && queued == cap, "after go: %d bytes in a pipe of %d", queued, cap);
  unsigned char buf[8192];
  unsigned pos = 0;
  for (;;) {
    ssize_t n = read(p[0], buf, sizeof buf);
    PROG_CHECK(n >= 0, "read at %u", pos);
    if (n == 0) break;
    for (ssize_t k = 0; k < n; k++, pos++) PROG_CHECK(buf[k] == byte_at(pos), "byte %u", pos);
  }
  PROG_CHECK(pos == (unsigned)cap + EXTRA, "%u bytes before EOF, want %d", pos, cap + EXTRA);
  prog_check_child(w, 0);
  prog_pass();
}
