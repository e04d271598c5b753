// An epoll fd watching three files: a pipe's read end (EPOLLIN, data
// 0x1111), an eventfd (EPOLLIN|EPOLLET, data 0x2222) made readable before
// the dump, and a socketpair end (EPOLLOUT, data 0x3333). Nothing calls
// epoll_wait before the dump. After restore:
//   - epoll_wait reports exactly the eventfd (EPOLLIN) and the socket
//     (EPOLLOUT), each with its data, and not the empty pipe;
//   - a second epoll_wait reports the socket only: the eventfd is
//     edge-triggered and has had no new edge;
//   - after a write to the pipe it is reported too (EPOLLIN, 0x1111);
//   - /proc/self/fdinfo/EPFD lists the three targets by fd number with
//     their event masks (the kernel adds EPOLLERR|EPOLLHUP) and data;
//   - a new write to the eventfd is a new edge and is reported again.
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include "prog.h"

#define D_PIPE 0x1111
#define D_EVENT 0x2222
#define D_SOCK 0x3333

static int ep, pfd[2], efd, sv[2];

static void add(int fd, uint32_t events, uint64_t data) {
  struct epoll_event ev = {.events = events, .data.u64 = data};
  PROG_CHECK(epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev) == 0, "epoll_ctl add fd %d", fd);
}

// Waits without blocking; the reported events as three masks, one per
// target (0: not reported). Fails on an unknown data value or a repeat.
static void wait_now(const char* when, uint32_t* pipe_ev, uint32_t* event_ev, uint32_t* sock_ev) {
  struct epoll_event evs[8];
  int n = epoll_wait(ep, evs, 8, 0);
  PROG_CHECK(n >= 0, "%s: epoll_wait", when);
  *pipe_ev = *event_ev = *sock_ev = 0;
  for (int i = 0; i < n; i++) {
    uint64_t d = evs[i].data.u64;
    uint32_t* slot = d == D_PIPE ? pipe_ev : d == D_EVENT ? event_ev : d == D_SOCK ? sock_ev : NULL;
    PROG_CHECK(slot != NULL, "%s: event %d has data %#llx, not one of ours", when, i,
               (unsigned long long)evs[i].data.u64);
    PROG_CHECK(*slot == 0, "%s: data %#llx reported twice", when, (unsigned long long)evs[i].data.u64);
    PROG_CHECK(evs[i].events != 0, "%s: data %#llx reported with no events", when,
               (unsigned long long)evs[i].data.u64);
    *slot = evs[i].events;
  }
}

static void expect(const char* when, uint32_t want_pipe, uint32_t want_event, uint32_t want_sock) {
  uint32_t p, e, s;
  wait_now(when, &p, &e, &s);
  PROG_CHECK(p == want_pipe && e == want_event && s == want_sock,
             "%s: events pipe %#x eventfd %#x socket %#x, want %#x %#x %#x", when, p, e, s, want_pipe, want_event,
             want_sock);
}

// The "tfd:" line of fdinfo for target fd; checks its mask and data.
static void check_tfd(const char* info, int fd, uint32_t events, uint64_t data) {
  const char* line = info;
  while ((line = strstr(line, "tfd:")) != NULL) {
    line += 4;
    char* end;
    long t = strtol(line, &end, 10);
    if (t != fd) continue;
    const char* ev = strstr(end, "events:");
    const char* da = strstr(end, "data:");
    const char* nl = strchr(end, '\n');
    PROG_CHECK(ev != NULL && da != NULL && (nl == NULL || (ev < nl && da < nl)), "fdinfo tfd %d line: no events/data",
               fd);
    unsigned long got_ev = strtoul(ev + 7, NULL, 16);
    unsigned long long got_da = strtoull(da + 5, NULL, 16);
    PROG_CHECK(got_ev == events, "fdinfo tfd %d: events %#lx, want %#x", fd, got_ev, events);
    PROG_CHECK(got_da == data, "fdinfo tfd %d: data %#llx, want %#llx", fd, got_da, (unsigned long long)data);
    return;
  }
  prog_fail("fdinfo of the epoll fd has no tfd line for fd %d:\n%s", fd, info);
}

static void check_fdinfo(void) {
  char p[64], info[4096];
  snprintf(p, sizeof p, "/proc/self/fdinfo/%d", ep);
  int f = open(p, O_RDONLY | O_CLOEXEC);
  PROG_CHECK(f >= 0, "open %s", p);
  ssize_t n = read(f, info, sizeof info - 1);
  close(f);
  PROG_CHECK(n > 0, "read %s", p);
  info[n] = 0;
  int lines = 0;
  for (const char* l = info; (l = strstr(l, "tfd:")) != NULL; l += 4) lines++;
  PROG_CHECK(lines == 3, "fdinfo lists %d targets, want 3:\n%s", lines, info);
  check_tfd(info, pfd[0], EPOLLIN | EPOLLERR | EPOLLHUP, D_PIPE);
  check_tfd(info, efd, EPOLLIN | EPOLLET | EPOLLERR | EPOLLHUP, D_EVENT);
  check_tfd(info, sv[0], EPOLLOUT | EPOLLERR | EPOLLHUP, D_SOCK);
}

int main(int argc, char** argv) {
  prog_init(argc, argv);
  ep = epoll_create1(EPOLL_CLOEXEC);
  PROG_CHECK(ep >= 0, "epoll_create1");
  PROG_CHECK(pipe(pfd) == 0, "pipe");
  efd = eventfd(0, EFD_NONBLOCK);
  PROG_CHECK(efd >= 0, "eventfd");
  PROG_CHECK(socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0, "socketpair");
  add(pfd[0], EPOLLIN, D_PIPE);
  add(efd, EPOLLIN | EPOLLET, D_EVENT);
  add(sv[0], EPOLLOUT, D_SOCK);
  uint64_t v = 7;
  PROG_CHECK(write(efd, &v, 8) == 8, "write eventfd");
  prog_ready();
  prog_wait_go();

  PROG_CHECK(fcntl(ep, F_GETFD) == FD_CLOEXEC, "epoll fd lost FD_CLOEXEC");
  expect("first wait", 0, EPOLLIN, EPOLLOUT);
  expect("second wait", 0, 0, EPOLLOUT);  // the eventfd is edge-triggered
  check_fdinfo();
  PROG_CHECK(write(pfd[1], "x", 1) == 1, "write pipe");
  expect("after the pipe write", EPOLLIN, 0, EPOLLOUT);
  char c;
  PROG_CHECK(read(pfd[0], &c, 1) == 1 && c == 'x', "read pipe");
  expect("after the pipe read", 0, 0, EPOLLOUT);
  v = 0;
  PROG_CHECK(read(efd, &v, 8) == 8 && v == 7, "eventfd counter %llu, want 7", (unsigned long long)v);
  v = 1;
  PROG_CHECK(write(efd, &v, 8) == 8, "write eventfd");
  expect("after a new eventfd write", 0, EPOLLIN, EPOLLOUT);
  prog_pass();
}
