// A 3-level tree joined by a mix of links, each with data in flight at
// dump time. The root forks children 0..2; child k forks grandchildren
// 3+2k and 4+2k. Links (a -> b; a stream link carries data both ways):
//   root <-> 0, root <-> 1, root <-> 2   SOCK_STREAM socketpairs
//   0 -> 3, 4 -> 0, 1 -> 5, 6 -> 1, 2 -> 7, 8 -> 2   pipes
//   5 -> 6                               SOCK_DGRAM socketpair (siblings)
//   3 -> 8                               pipe across subtrees
//   4 <-> 7                              SOCK_STREAM across subtrees
//   root -> 7                            pipe to a grandchild
//   2 -> root                            SOCK_DGRAM socketpair
// Each link is made by the lowest common ancestor of its ends; every
// process closes the ends it does not use, so each end has one holder.
// And one eventfd, made by the root and held by all: each non-root
// process adds id+1 before the dump.
// Before the dump every writer sends its first part (several writes or 3
// datagrams); after restore it sends a second part and closes (pipe) or
// shuts down (stream). Readers check every byte at its position, each
// datagram whole and in order, then EOF (pipe, stream) or nothing more
// (datagrams). The root reads the eventfd's pre-dump sum first; then each
// process adds 1000*(id+1) and the root reads that sum at the end.
#define _GNU_SOURCE
#include <errno.h>
#include <poll.h>
#include <stdint.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include "prog.h"

#define ROOT (-1)
#define NPROC 9  // children 0..2, grandchildren 3..8

enum kind { PIPE, STREAM, DGRAM };
struct link {
  enum kind kind;
  int a, b;   // writer and reader (stream: both write and read)
  int maker;  // the process that creates it, before forking
  int fd[2];  // pipe: read, write; socketpair: a's end, b's end
};

static struct link links[] = {
    {STREAM, ROOT, 0, ROOT, {-1, -1}}, {STREAM, ROOT, 1, ROOT, {-1, -1}}, {STREAM, ROOT, 2, ROOT, {-1, -1}},
    {PIPE, 0, 3, 0, {-1, -1}},         {PIPE, 4, 0, 0, {-1, -1}},         {PIPE, 1, 5, 1, {-1, -1}},
    {PIPE, 6, 1, 1, {-1, -1}},         {PIPE, 2, 7, 2, {-1, -1}},         {PIPE, 8, 2, 2, {-1, -1}},
    {DGRAM, 5, 6, 1, {-1, -1}},        {PIPE, 3, 8, ROOT, {-1, -1}},      {STREAM, 4, 7, ROOT, {-1, -1}},
    {PIPE, ROOT, 7, ROOT, {-1, -1}},   {DGRAM, 2, ROOT, ROOT, {-1, -1}},
};
#define NLINKS ((int)(sizeof links / sizeof links[0]))

static int evfd;

static unsigned char byte_at(int l, int dir, int i) {
  return (unsigned char)(i * 131 + l * 17 + dir * 97 + i / 256);
}
static int pre_len(int l) { return 1000 + 311 * l; }
static int post_len(int l) { return 400 + 53 * l; }
static int dgram_len(int l, int k) { return 100 + 3 * l + 150 * k; }  // k 0..2 before, 3 after

// The fd of link l that process me uses (-1: me is not on it).
static int my_fd(int l, int me) {
  struct link* k = &links[l];
  if (me == k->a) return k->kind == PIPE ? k->fd[1] : k->fd[0];
  if (me == k->b) return k->kind == PIPE ? k->fd[0] : k->fd[1];
  return -1;
}

static void close_unused(int me) {
  for (int l = 0; l < NLINKS; l++) {
    int keep = my_fd(l, me);
    for (int e = 0; e < 2; e++) {
      if (links[l].fd[e] >= 0 && links[l].fd[e] != keep) PROG_CHECK(close(links[l].fd[e]) == 0, "close");
      if (links[l].fd[e] != keep) links[l].fd[e] = -1;
    }
  }
}

static void write_all(int fd, const unsigned char* buf, size_t len, int l) {
  while (len > 0) {
    ssize_t n = write(fd, buf, len);
    PROG_CHECK(n > 0, "link %d: write", l);
    buf += n, len -= (size_t)n;
  }
}

// Sends stream bytes [from, to) of link l in direction dir, 700 at a time.
static void send_bytes(int l, int dir, int fd, int from, int to) {
  unsigned char buf[700];
  while (from < to) {
    int n = to - from < 700 ? to - from : 700;
    for (int i = 0; i < n; i++) buf[i] = byte_at(l, dir, from + i);
    write_all(fd, buf, (size_t)n, l);
    from += n;
  }
}

static void send_dgram(int l, int fd, int k) {
  unsigned char buf[1024];
  int len = dgram_len(l, k);
  for (int i = 0; i < len; i++) buf[i] = byte_at(l, k, i);
  PROG_CHECK(send(fd, buf, (size_t)len, 0) == len, "link %d: send datagram %d", l, k);
}

// Direction of data that process me sends on link l (stream: b sends 1).
static int dir_of(int l, int me) { return me == links[l].b ? 1 : 0; }

// Before the dump: the first part of everything me sends.
static void send_first(int me) {
  for (int l = 0; l < NLINKS; l++) {
    int fd = my_fd(l, me);
    if (fd < 0 || (links[l].kind != STREAM && me != links[l].a)) continue;
    if (links[l].kind == DGRAM)
      for (int k = 0; k < 3; k++) send_dgram(l, fd, k);
    else
      send_bytes(l, dir_of(l, me), fd, 0, pre_len(l));
  }
}

// After restore: the second part, then close or shut down.
static void send_second(int me) {
  for (int l = 0; l < NLINKS; l++) {
    int fd = my_fd(l, me);
    if (fd < 0 || (links[l].kind != STREAM && me != links[l].a)) continue;
    if (links[l].kind == DGRAM) {
      send_dgram(l, fd, 3);
      continue;
    }
    send_bytes(l, dir_of(l, me), fd, pre_len(l), pre_len(l) + post_len(l));
    if (links[l].kind == PIPE) {
      PROG_CHECK(close(fd) == 0, "link %d: close", l);
      links[l].fd[1] = -1;
    } else {
      PROG_CHECK(shutdown(fd, SHUT_WR) == 0, "link %d: shutdown", l);
    }
  }
}

static void check_bytes(int l, int dir, int fd) {
  unsigned char buf[4096];
  int want = pre_len(l) + post_len(l), pos = 0;
  for (;;) {
    // Bounded: a write end left open elsewhere would block forever.
    struct pollfd p = {.fd = fd, .events = POLLIN};
    PROG_CHECK(poll(&p, 1, 5000) == 1, "link %d: no data and no EOF for 5 s after %d of %d bytes", l, pos, want);
    ssize_t n = read(fd, buf, sizeof buf);
    PROG_CHECK(n >= 0, "link %d: read", l);
    if (n == 0) break;
    for (ssize_t i = 0; i < n; i++, pos++)
      PROG_CHECK(pos < want && buf[i] == byte_at(l, dir, pos), "link %d: byte %d is %#x, want %#x", l, pos, buf[i],
                 pos < want ? byte_at(l, dir, pos) : 0);
  }
  PROG_CHECK(pos == want, "link %d: EOF after %d bytes, want %d", l, pos, want);
}

static void check_dgrams(int l, int fd) {
  unsigned char buf[2048];
  for (int k = 0; k < 4; k++) {
    struct pollfd p = {.fd = fd, .events = POLLIN};
    PROG_CHECK(poll(&p, 1, 5000) == 1, "link %d: datagram %d never came", l, k);
    ssize_t n = recv(fd, buf, sizeof buf, MSG_DONTWAIT);
    PROG_CHECK(n == dgram_len(l, k), "link %d: datagram %d has %zd bytes, want %d", l, k, n, dgram_len(l, k));
    for (int i = 0; i < n; i++) PROG_CHECK(buf[i] == byte_at(l, k, i), "link %d: datagram %d byte %d", l, k, i);
  }
  errno = 0;
  PROG_CHECK(recv(fd, buf, sizeof buf, MSG_DONTWAIT) < 0 && errno == EAGAIN, "link %d: more than 4 datagrams", l);
}

// After restore: everything me receives.
static void receive_all(int me) {
  for (int l = 0; l < NLINKS; l++) {
    int fd = my_fd(l, me);
    if (fd < 0 || (links[l].kind != STREAM && me != links[l].b)) continue;
    if (links[l].kind == DGRAM)
      check_dgrams(l, fd);
    else
      check_bytes(l, links[l].kind == STREAM ? 1 - dir_of(l, me) : 0, fd);
  }
}

static uint64_t ev_read(void) {
  uint64_t v = 0;
  PROG_CHECK(read(evfd, &v, 8) == 8, "read eventfd");
  return v;
}

static void ev_add(uint64_t v) { PROG_CHECK(write(evfd, &v, 8) == 8, "write eventfd"); }

static void member(int me) {
  for (int l = 0; l < NLINKS; l++) {
    if (links[l].maker != me) continue;
    int r = links[l].kind == PIPE     ? pipe(links[l].fd)
            : links[l].kind == STREAM ? socketpair(AF_UNIX, SOCK_STREAM, 0, links[l].fd)
                                      : socketpair(AF_UNIX, SOCK_DGRAM, 0, links[l].fd);
    PROG_CHECK(r == 0, "link %d: create", l);
  }
  int kid_ids[3], nkids = 0;
  if (me == ROOT) {
    kid_ids[0] = 0, kid_ids[1] = 1, kid_ids[2] = 2, nkids = 3;
  } else if (me < 3) {
    kid_ids[0] = 3 + 2 * me, kid_ids[1] = 4 + 2 * me, nkids = 2;
  }
  pid_t kids[3];
  for (int i = 0; i < nkids; i++) {
    kids[i] = prog_fork_child(kid_ids[i]);
    if (kids[i] == 0) {
      member(kid_ids[i]);
      prog_pass();
    }
  }
  close_unused(me);
  send_first(me);
  if (me == ROOT) {
    prog_wait_children_ready(NPROC);
    prog_ready();
  } else {
    ev_add((uint64_t)me + 1);
    prog_child_ready(me);
  }
  prog_wait_go();

  if (me == ROOT) {
    uint64_t v = ev_read(), want = 0;
    for (int i = 0; i < NPROC; i++) want += (uint64_t)i + 1;
    PROG_CHECK(v == want, "eventfd held %llu at dump time, want %llu", (unsigned long long)v,
               (unsigned long long)want);
    prog_mark("ev-read");
  }
  send_second(me);
  receive_all(me);
  if (me != ROOT) {
    prog_wait_mark("ev-read");
    ev_add(1000 * ((uint64_t)me + 1));
  }
  for (int i = 0; i < nkids; i++) prog_check_child(kids[i], kid_ids[i]);
  if (me == ROOT) {
    uint64_t v = ev_read(), want = 0;
    for (int i = 0; i < NPROC; i++) want += 1000 * ((uint64_t)i + 1);
    PROG_CHECK(v == want, "eventfd sum after restore %llu, want %llu", (unsigned long long)v, (unsigned long long)want);
  }
}

int main(int argc, char** argv) {
  prog_init(argc, argv);
  evfd = eventfd(0, EFD_NONBLOCK);  // a lost counter fails, not hangs
  PROG_CHECK(evfd >= 0, "eventfd");
  member(ROOT);
  prog_pass();
}
