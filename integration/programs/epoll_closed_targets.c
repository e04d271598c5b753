// Epoll registrations made through fds the task closed since:
//   E watches pipe P0 (data 100) through fd 600, a dup of P0's read end,
//     then 600 was closed; then pipe P1 (data 101) through 600 again, a
//     dup of P1's read end, kept open: two registrations on fd number 600
//     for two files, one of them now reached only by P0's own read end;
//   E watches pipe P2 (data 102) through P2's read end, then a dup of it
//     at 601 registered too (data 103), 601 kept: one file, two fds;
//   W watches E itself (data 200): an epoll watching an epoll.
// After restore, for each pipe in turn: a byte written into it is
// reported by E with that pipe's data (P2 twice: 102 and 103), and W
// reports E readable; with the byte read back, nothing is reported.
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdint.h>
#include <sys/epoll.h>
#include <unistd.h>

#include "prog.h"

static void watch(int ep, int fd, uint64_t data) {
  struct epoll_event ev = {.events = EPOLLIN, .data.u64 = data};
  PROG_CHECK(epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev) == 0, "epoll_ctl add fd %d", fd);
}

// Collects what `ep` reports now as a bit set over data - base.
static unsigned ready(int ep, uint64_t base) {
  struct epoll_event evs[8];
  int n = epoll_wait(ep, evs, 8, 0);
  PROG_CHECK(n >= 0, "epoll_wait");
  unsigned bits = 0;
  for (int i = 0; i < n; i++) {
    PROG_CHECK(evs[i].data.u64 >= base && evs[i].data.u64 < base + 8, "unexpected data %llu",
               (unsigned long long)evs[i].data.u64);
    bits |= 1u << (evs[i].data.u64 - base);
  }
  return bits;
}

int main(int argc, char** argv) {
  prog_init(argc, argv);
  int p0[2], p1[2], p2[2];
  PROG_CHECK(pipe2(p0, O_CLOEXEC) == 0 && pipe2(p1, O_CLOEXEC) == 0 && pipe2(p2, O_CLOEXEC) == 0, "pipe");
  int e = epoll_create1(EPOLL_CLOEXEC), w = epoll_create1(EPOLL_CLOEXEC);
  PROG_CHECK(e >= 0 && w >= 0, "epoll_create1");
  PROG_CHECK(dup2(p0[0], 600) == 600, "dup2");
  watch(e, 600, 100);
  close(600);
  PROG_CHECK(dup2(p1[0], 600) == 600, "dup2");
  watch(e, 600, 101);
  watch(e, p2[0], 102);
  PROG_CHECK(dup2(p2[0], 601) == 601, "dup2");
  watch(e, 601, 103);
  watch(w, e, 200);
  prog_ready();
  prog_wait_go();
  PROG_CHECK(ready(e, 100) == 0 && ready(w, 200) == 0, "something is ready before any write");
  int wr[3] = {p0[1], p1[1], p2[1]}, rd[3] = {p0[0], p1[0], p2[0]};
  unsigned want[3] = {1u << 0, 1u << 1, (1u << 2) | (1u << 3)};
  for (int i = 0; i < 3; i++) {
    char b = 'x';
    PROG_CHECK(write(wr[i], &b, 1) == 1, "write pipe %d", i);
    PROG_CHECK(ready(w, 200) == 1, "pipe %d: W does not report E", i);
    unsigned got = ready(e, 100);
    PROG_CHECK(got == want[i], "pipe %d: E reports %#x, want %#x", i, got, want[i]);
    PROG_CHECK(read(rd[i], &b, 1) == 1, "read pipe %d", i);
    PROG_CHECK(ready(e, 100) == 0, "pipe %d: E still reports after the read", i);
  }
  prog_pass();
}
