// Unix sockets still holding what their peer sent before it closed (the
// peer is gone from every fd table), SIGPIPE ignored:
//   S: a SOCK_STREAM pair; the peer wrote 300 bytes in two writes, closed;
//   Q: a SOCK_SEQPACKET pair; the peer sent 3 records (1, 2000, 0 bytes),
//      closed;
//   D: a SOCK_DGRAM pair; the peer sent 2 datagrams (5 and 6000 bytes),
//      closed;
//   F: a SOCK_DGRAM pair; the peer sent a datagram carrying (SCM_RIGHTS)
//      the read end of a pipe with 4 bytes in it, closed; only the write
//      end of the pipe is held by the task.
// After restore:
//   - S reads the 300 bytes, then EOF; a write fails with EPIPE;
//   - Q reads the 3 records whole (sizes 1, 2000, 0), then EOF;
//   - D reads the 2 datagrams whole; a send() fails with ECONNREFUSED;
//   - F's datagram brings the pipe, its 4 bytes, and bytes written after.
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "prog.h"

static unsigned char buf[8192];

static void fill(size_t len, int seed) {
  for (size_t i = 0; i < len; i++) buf[i] = (unsigned char)(i * 13 + seed + i / 251);
}

static void check(ssize_t n, size_t want, int seed, const char* what) {
  PROG_CHECK(n == (ssize_t)want, "%s: %zd bytes, want %zu", what, n, want);
  for (size_t i = 0; i < want; i++) PROG_CHECK(buf[i] == (unsigned char)(i * 13 + seed + i / 251), "%s: byte %zu", what, i);
}

static void pair(int type, int sv[2]) { PROG_CHECK(socketpair(AF_UNIX, type | SOCK_CLOEXEC, 0, sv) == 0, "socketpair"); }

static void send_rec(int fd, size_t len, int seed) {
  fill(len, seed);
  PROG_CHECK(send(fd, buf, len, 0) == (ssize_t)len, "send %zu bytes", len);
}

static ssize_t recv_now(int fd) {
  struct pollfd p = {.fd = fd, .events = POLLIN};
  PROG_CHECK(poll(&p, 1, 5000) == 1, "nothing to read");
  return recv(fd, buf, sizeof buf, MSG_DONTWAIT);
}

int main(int argc, char** argv) {
  prog_init(argc, argv);
  signal(SIGPIPE, SIG_IGN);
  int s[2], q[2], d[2], f[2], pfd[2];
  pair(SOCK_STREAM, s);
  send_rec(s[1], 100, 1);
  send_rec(s[1], 200, 2);
  close(s[1]);
  pair(SOCK_SEQPACKET, q);
  send_rec(q[1], 1, 3);
  send_rec(q[1], 2000, 4);
  send_rec(q[1], 0, 5);
  close(q[1]);
  pair(SOCK_DGRAM, d);
  send_rec(d[1], 5, 6);
  send_rec(d[1], 6000, 7);
  close(d[1]);
  pair(SOCK_DGRAM, f);
  PROG_CHECK(pipe2(pfd, O_CLOEXEC) == 0, "pipe");
  PROG_CHECK(write(pfd[1], "abcd", 4) == 4, "write the pipe");
  char ctl[CMSG_SPACE(sizeof(int))];
  memset(ctl, 0, sizeof ctl);
  struct iovec iov = {.iov_base = (void*)"fd", .iov_len = 2};
  struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctl, .msg_controllen = sizeof ctl};
  struct cmsghdr* c = CMSG_FIRSTHDR(&mh);
  c->cmsg_level = SOL_SOCKET;
  c->cmsg_type = SCM_RIGHTS;
  c->cmsg_len = CMSG_LEN(sizeof(int));
  memcpy(CMSG_DATA(c), &pfd[0], sizeof(int));
  PROG_CHECK(sendmsg(f[1], &mh, 0) == 2, "sendmsg");
  close(pfd[0]);
  close(f[1]);
  prog_ready();
  prog_wait_go();

  // S: the bytes of both writes, then EOF.
  size_t got = 0;
  unsigned char all[300];
  while (got < 300) {
    ssize_t n = recv_now(s[0]);
    PROG_CHECK(n > 0, "S: read after %zu of 300 bytes (%zd)", got, n);
    memcpy(all + got, buf, (size_t)n);
    got += (size_t)n;
  }
  memcpy(buf, all, 100);
  check(100, 100, 1, "S, first write");
  memcpy(buf, all + 100, 200);
  check(200, 200, 2, "S, second write");
  PROG_CHECK(recv(s[0], buf, sizeof buf, MSG_DONTWAIT) == 0, "S: no EOF after the data");
  PROG_CHECK(write(s[0], "x", 1) < 0 && errno == EPIPE, "S: a write does not fail with EPIPE");

  check(recv_now(q[0]), 1, 3, "Q, record 1");
  check(recv_now(q[0]), 2000, 4, "Q, record 2");
  check(recv_now(q[0]), 0, 5, "Q, record 3 (empty)");
  PROG_CHECK(recv(q[0], buf, sizeof buf, MSG_DONTWAIT) == 0, "Q: no EOF after the records");

  check(recv_now(d[0]), 5, 6, "D, datagram 1");
  check(recv_now(d[0]), 6000, 7, "D, datagram 2");
  PROG_CHECK(send(d[0], "x", 1, MSG_DONTWAIT) < 0 && errno == ECONNREFUSED, "D: a send does not fail with ECONNREFUSED (%d)",
             errno);

  char data[8];
  struct iovec riov = {.iov_base = data, .iov_len = sizeof data};
  struct msghdr rh = {.msg_iov = &riov, .msg_iovlen = 1, .msg_control = ctl, .msg_controllen = sizeof ctl};
  struct pollfd p = {.fd = f[0], .events = POLLIN};
  PROG_CHECK(poll(&p, 1, 5000) == 1, "F: nothing came");
  PROG_CHECK(recvmsg(f[0], &rh, MSG_DONTWAIT | MSG_CMSG_CLOEXEC) == 2, "F: recvmsg");
  c = CMSG_FIRSTHDR(&rh);
  PROG_CHECK(c != NULL && c->cmsg_type == SCM_RIGHTS && c->cmsg_len == CMSG_LEN(sizeof(int)), "F: no fd came");
  int r;
  memcpy(&r, CMSG_DATA(c), sizeof r);
  PROG_CHECK(read(r, data, sizeof data) == 4 && memcmp(data, "abcd", 4) == 0, "F: the pipe's bytes");
  PROG_CHECK(write(pfd[1], "efg", 3) == 3 && read(r, data, sizeof data) == 3, "F: the pipe after go");
  prog_pass();
}
