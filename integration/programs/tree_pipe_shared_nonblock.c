// One open file description in two processes: the root makes a pipe, sets
// O_NONBLOCK on the read end and forks two children that both hold that
// read end; the root keeps only the write end, with 16 bytes queued at
// dump time. After restore:
//   - both children see O_NONBLOCK; child 0 reads the 16 bytes without
//     blocking and then gets EAGAIN (the flag works, not just shows);
//   - child 0 clears O_NONBLOCK with fcntl(F_SETFL); child 1 sees it
//     cleared too: one description, not two copies;
//   - then data flows: child 1 and then child 0 block in read() until the
//     root writes their 32 bytes, and both get EOF once the root closes.
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <string.h>
#include <unistd.h>

#include "prog.h"

#define QUEUED "queued-at-dump!!"  // 16 bytes

static int pfd[2];

static bool nonblock(void) {
  int fl = fcntl(pfd[0], F_GETFL);
  PROG_CHECK(fl >= 0, "F_GETFL");
  return (fl & O_NONBLOCK) != 0;
}

// A blocking read of 32 bytes of `fill`, once `reading` is marked.
static void read_block(int who, char fill, const char* reading, const char* got) {
  char buf[32], want[32];
  memset(want, fill, sizeof want);
  prog_mark(reading);
  size_t n = 0;
  while (n < sizeof buf) {
    ssize_t r = read(pfd[0], buf + n, sizeof buf - n);
    PROG_CHECK(r > 0, "child %d: blocking read gave %zd after %zu bytes", who, r, n);
    n += (size_t)r;
  }
  PROG_CHECK(memcmp(buf, want, sizeof buf) == 0, "child %d: wrong bytes", who);
  prog_mark(got);
}

static void child(int who) {
  close(pfd[1]);
  char buf[64];
  PROG_CHECK(nonblock(), "child %d: O_NONBLOCK not set before the dump", who);
  prog_child_ready(who);
  prog_wait_go();
  if (who == 0) {
    prog_wait_mark("c1-saw-set");
    PROG_CHECK(nonblock(), "child 0: O_NONBLOCK lost");
    ssize_t n = read(pfd[0], buf, sizeof buf);
    PROG_CHECK(n == 16 && memcmp(buf, QUEUED, 16) == 0, "child 0: read %zd bytes of the queued 16", n);
    errno = 0;
    PROG_CHECK(read(pfd[0], buf, sizeof buf) < 0 && errno == EAGAIN, "child 0: empty pipe did not give EAGAIN");
    int fl = fcntl(pfd[0], F_GETFL);
    PROG_CHECK(fcntl(pfd[0], F_SETFL, fl & ~O_NONBLOCK) == 0, "child 0: F_SETFL");
    PROG_CHECK(!nonblock(), "child 0: O_NONBLOCK still set after clearing it");
    prog_mark("cleared");
    prog_wait_mark("c1-got");
    read_block(0, 'b', "c0-reading", "c0-got");
  } else {
    PROG_CHECK(nonblock(), "child 1: O_NONBLOCK lost");
    prog_mark("c1-saw-set");
    prog_wait_mark("cleared");
    PROG_CHECK(!nonblock(), "child 1: O_NONBLOCK still set after child 0 cleared it: not one file description");
    read_block(1, 'a', "c1-reading", "c1-got");
  }
  prog_wait_mark("writer-closed");
  struct pollfd p = {.fd = pfd[0], .events = POLLIN};
  PROG_CHECK(poll(&p, 1, 5000) == 1 && read(pfd[0], buf, sizeof buf) == 0,
             "child %d: no EOF after the writer closed (is the write end open elsewhere?)", who);
  prog_pass();
}

int main(int argc, char** argv) {
  prog_init(argc, argv);
  PROG_CHECK(pipe(pfd) == 0, "pipe");
  PROG_CHECK(fcntl(pfd[0], F_SETFL, O_NONBLOCK) == 0, "F_SETFL O_NONBLOCK");
  pid_t kids[2];
  for (int i = 0; i < 2; i++) {
    kids[i] = prog_fork_child(i);
    if (kids[i] == 0) child(i);
  }
  close(pfd[0]);
  PROG_CHECK(write(pfd[1], QUEUED, 16) == 16, "write");
  prog_wait_children_ready(2);
  prog_ready();
  prog_wait_go();

  char buf[32];
  prog_wait_mark("c1-reading");
  memset(buf, 'a', sizeof buf);
  PROG_CHECK(write(pfd[1], buf, sizeof buf) == sizeof buf, "write for child 1");
  prog_wait_mark("c0-reading");
  memset(buf, 'b', sizeof buf);
  PROG_CHECK(write(pfd[1], buf, sizeof buf) == sizeof buf, "write for child 0");
  prog_wait_mark("c0-got");
  close(pfd[1]);
  prog_mark("writer-closed");
  prog_check_child(kids[0], 0);
  prog_check_child(kids[1], 1);
  prog_pass();
}
