// An epoll that exists only in flight: E watches a SOCK_DGRAM socket s1
// (EPOLLIN, data 7) and a pipe's read end (EPOLLIN, data 8); the task sent
// E twice over s0 to s1 (SCM_RIGHTS) and closed its own fd of E.
// After restore the first message brings E back, and:
//   - E reports s1 readable (the second message is queued), data 7, and
//     not the empty pipe;
//   - /proc/self/fdinfo of E names s1's and the pipe's fd numbers;
//   - after a write to the pipe E reports it too, data 8.
#define _GNU_SOURCE
#include <fcntl.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "prog.h"

static void send_fd(int via, int fd) {
  char ctl[CMSG_SPACE(sizeof(int))];
  memset(ctl, 0, sizeof ctl);
  struct iovec iov = {.iov_base = (void*)"E", .iov_len = 1};
  struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctl, .msg_controllen = sizeof ctl};
  struct cmsghdr* c = CMSG_FIRSTHDR(&mh);
  c->cmsg_level = SOL_SOCKET;
  c->cmsg_type = SCM_RIGHTS;
  c->cmsg_len = CMSG_LEN(sizeof(int));
  memcpy(CMSG_DATA(c), &fd, sizeof fd);
  PROG_CHECK(sendmsg(via, &mh, 0) == 1, "sendmsg");
}

static int recv_fd(int from) {
  char b;
  char ctl[CMSG_SPACE(sizeof(int))];
  struct iovec iov = {.iov_base = &b, .iov_len = 1};
  struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctl, .msg_controllen = sizeof ctl};
  struct pollfd p = {.fd = from, .events = POLLIN};
  PROG_CHECK(poll(&p, 1, 5000) == 1, "no message");
  PROG_CHECK(recvmsg(from, &mh, MSG_DONTWAIT | MSG_CMSG_CLOEXEC) == 1, "recvmsg");
  struct cmsghdr* c = CMSG_FIRSTHDR(&mh);
  PROG_CHECK(c != NULL && c->cmsg_type == SCM_RIGHTS, "the message carries no fd");
  int fd;
  memcpy(&fd, CMSG_DATA(c), sizeof fd);
  return fd;
}

static uint64_t only_event(int ep) {
  struct epoll_event ev[4];
  int n = epoll_wait(ep, ev, 4, 0);
  PROG_CHECK(n == 1, "epoll_wait reports %d events, want 1", n);
  return ev[0].data.u64;
}

int main(int argc, char** argv) {
  prog_init(argc, argv);
  int s[2], p[2];
  PROG_CHECK(socketpair(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0, s) == 0, "socketpair");
  PROG_CHECK(pipe2(p, O_CLOEXEC) == 0, "pipe");
  int e = epoll_create1(EPOLL_CLOEXEC);
  struct epoll_event ev = {.events = EPOLLIN, .data.u64 = 7};
  PROG_CHECK(epoll_ctl(e, EPOLL_CTL_ADD, s[1], &ev) == 0, "watch s1");
  ev.data.u64 = 8;
  PROG_CHECK(epoll_ctl(e, EPOLL_CTL_ADD, p[0], &ev) == 0, "watch the pipe");
  send_fd(s[0], e);
  send_fd(s[0], e);
  close(e);
  prog_ready();
  prog_wait_go();
  e = recv_fd(s[1]);
  PROG_CHECK(only_event(e) == 7, "E does not report s1 alone");
  char path[64], info[4096];
  snprintf(path, sizeof path, "/proc/self/fdinfo/%d", e);
  FILE* f = fopen(path, "r");
  PROG_CHECK(f != NULL, "open %s", path);
  size_t n = fread(info, 1, sizeof info - 1, f);
  fclose(f);
  info[n] = '\0';
  char want[32];
  snprintf(want, sizeof want, "tfd: %8d", s[1]);
  PROG_CHECK(strstr(info, want) != NULL, "fdinfo of E does not name fd %d: %s", s[1], info);
  snprintf(want, sizeof want, "tfd: %8d", p[0]);
  PROG_CHECK(strstr(info, want) != NULL, "fdinfo of E does not name fd %d: %s", p[0], info);
  char b;
  PROG_CHECK(recv(s[1], &b, 1, MSG_DONTWAIT) == 1, "the second message");
  PROG_CHECK(write(p[1], "x", 1) == 1, "write the pipe");
  PROG_CHECK(only_event(e) == 8, "E does not report the pipe alone");
  prog_pass();
}
