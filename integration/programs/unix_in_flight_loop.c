// Unix sockets in flight inside themselves or their peer (SCM_RIGHTS),
// still held by the task too:
//   A: a SOCK_DGRAM pair; a0 sent a1 to a1: a1 holds itself;
//   B: a SOCK_STREAM pair; b0 sent b0 to b1 and b1 sent b1 to b0: each
//      is in flight in its peer's queue, a loop through both.
// After restore each message brings back the very socket it carried (same
// inode as the fd the task holds), with its text, and the sockets still
// talk to each other.
#define _GNU_SOURCE
#include <errno.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "prog.h"

static void send_fd(int via, int fd, const char* text) {
  char ctl[CMSG_SPACE(sizeof(int))];
  memset(ctl, 0, sizeof ctl);
  struct iovec iov = {.iov_base = (void*)text, .iov_len = strlen(text)};
  struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctl, .msg_controllen = sizeof ctl};
  struct cmsghdr* c = CMSG_FIRSTHDR(&mh);
  c->cmsg_level = SOL_SOCKET;
  c->cmsg_type = SCM_RIGHTS;
  c->cmsg_len = CMSG_LEN(sizeof(int));
  memcpy(CMSG_DATA(c), &fd, sizeof fd);
  PROG_CHECK(sendmsg(via, &mh, 0) == (ssize_t)strlen(text), "sendmsg %s", text);
}

// Receives one message: its text must be `text`, its fd the socket `same`.
static void recv_same(int from, int same, const char* text) {
  char buf[64] = {0};
  char ctl[CMSG_SPACE(4 * sizeof(int))];
  struct iovec iov = {.iov_base = buf, .iov_len = strlen(text)};
  struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctl, .msg_controllen = sizeof ctl};
  struct pollfd p = {.fd = from, .events = POLLIN};
  PROG_CHECK(poll(&p, 1, 5000) == 1, "%s: nothing came", text);
  ssize_t n = recvmsg(from, &mh, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
  PROG_CHECK(n == (ssize_t)strlen(text) && memcmp(buf, text, (size_t)n) == 0, "%s: got %zd bytes '%s'", text, n, buf);
  struct cmsghdr* c = CMSG_FIRSTHDR(&mh);
  PROG_CHECK(c != NULL && c->cmsg_type == SCM_RIGHTS && c->cmsg_len == CMSG_LEN(sizeof(int)), "%s: not one fd", text);
  int fd;
  memcpy(&fd, CMSG_DATA(c), sizeof fd);
  struct stat a, b;
  PROG_CHECK(fstat(fd, &a) == 0 && fstat(same, &b) == 0, "fstat");
  PROG_CHECK(a.st_ino == b.st_ino, "%s: the fd is socket %lu, want %lu", text, (unsigned long)a.st_ino,
             (unsigned long)b.st_ino);
  close(fd);
}

int main(int argc, char** argv) {
  prog_init(argc, argv);
  int a[2], b[2];
  PROG_CHECK(socketpair(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0, a) == 0, "socketpair A");
  PROG_CHECK(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, b) == 0, "socketpair B");
  send_fd(a[0], a[1], "a1-in-a1");
  send_fd(b[0], b[0], "b0-in-b1");
  send_fd(b[1], b[1], "b1-in-b0");
  prog_ready();
  prog_wait_go();
  recv_same(a[1], a[1], "a1-in-a1");
  recv_same(b[1], b[0], "b0-in-b1");
  recv_same(b[0], b[1], "b1-in-b0");
  char x;
  PROG_CHECK(send(a[0], "!", 1, 0) == 1 && recv(a[1], &x, 1, 0) == 1 && x == '!', "A after go");
  PROG_CHECK(write(b[1], "?", 1) == 1 && read(b[0], &x, 1) == 1 && x == '?', "B after go");
  prog_pass();
}
