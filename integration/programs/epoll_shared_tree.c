// One epoll instance shared by a parent and its child: the root creates a
// pipe, an eventfd and an epoll fd watching the pipe's read end (EPOLLIN,
// data 0xabc), then forks; the child inherits all of them. After restore:
//   - the child's epoll_wait reports nothing at first (the pipe is empty);
//   - the root writes to the pipe while the child blocks in epoll_wait,
//     which wakes with EPOLLIN and data 0xabc; the child reads the bytes;
//   - the root then adds the eventfd to the epoll (data 0xdef) and makes
//     it readable: the child's epoll_wait sees it, so both processes still
//     hold one epoll instance, not two copies.
#define _GNU_SOURCE
#include <stdint.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include "prog.h"

#define D_PIPE 0xabc
#define D_EVENT 0xdef
#define MSG "through the shared epoll"

static int ep, pfd[2], efd;

// One epoll_wait in the child; returns the event count, *ev the first.
static int child_wait(int timeout_ms, struct epoll_event* ev) {
  struct epoll_event evs[4];
  int n = epoll_wait(ep, evs, 4, timeout_ms);
  PROG_CHECK(n >= 0, "child: epoll_wait");
  if (n > 0) *ev = evs[0];
  return n;
}

static void child(void) {
  close(pfd[1]);
  prog_child_ready(0);
  prog_wait_go();
  struct epoll_event ev;
  int n = child_wait(0, &ev);
  PROG_CHECK(n == 0, "child: %d events before the root wrote (data %#llx)", n, (unsigned long long)ev.data.u64);
  prog_mark("child-waiting");
  n = child_wait(10000, &ev);
  PROG_CHECK(n == 1, "child: %d events for the pipe write, want 1", n);
  PROG_CHECK(ev.data.u64 == D_PIPE && ev.events == EPOLLIN, "child: event %#x data %#llx, want %#x %#x", ev.events,
             (unsigned long long)ev.data.u64, EPOLLIN, D_PIPE);
  char buf[64] = {0};
  PROG_CHECK(read(pfd[0], buf, sizeof buf) == (ssize_t)strlen(MSG) && strcmp(buf, MSG) == 0, "child: pipe gave '%s'",
             buf);
  prog_mark("child-read");
  prog_wait_mark("root-added");
  n = child_wait(5000, &ev);
  PROG_CHECK(n == 1, "child: %d events after the root added the eventfd, want 1", n);
  PROG_CHECK(ev.data.u64 == D_EVENT && ev.events == EPOLLIN,
             "child: event %#x data %#llx, want %#x %#x: the root's epoll_ctl did not reach this epoll", ev.events,
             (unsigned long long)ev.data.u64, EPOLLIN, D_EVENT);
  prog_pass();
}

int main(int argc, char** argv) {
  prog_init(argc, argv);
  PROG_CHECK(pipe(pfd) == 0, "pipe");
  efd = eventfd(0, EFD_NONBLOCK);
  ep = epoll_create1(0);
  PROG_CHECK(efd >= 0 && ep >= 0, "eventfd/epoll_create1");
  struct epoll_event ev = {.events = EPOLLIN, .data.u64 = D_PIPE};
  PROG_CHECK(epoll_ctl(ep, EPOLL_CTL_ADD, pfd[0], &ev) == 0, "epoll_ctl add pipe");
  pid_t c = prog_fork_child(0);
  if (c == 0) child();
  prog_wait_children_ready(1);
  prog_ready();
  prog_wait_go();
  prog_wait_mark("child-waiting");
  struct timespec t = {0, 50 * 1000 * 1000};  // let the child block first
  nanosleep(&t, NULL);
  PROG_CHECK(write(pfd[1], MSG, strlen(MSG)) == (ssize_t)strlen(MSG), "write pipe");
  prog_wait_mark("child-read");
  ev.events = EPOLLIN;
  ev.data.u64 = D_EVENT;
  PROG_CHECK(epoll_ctl(ep, EPOLL_CTL_ADD, efd, &ev) == 0, "epoll_ctl add eventfd");
  uint64_t v = 1;
  PROG_CHECK(write(efd, &v, 8) == 8, "write eventfd");
  prog_mark("root-added");
  prog_check_child(c, 0);
  prog_pass();
}
