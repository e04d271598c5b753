// A file that exists only in flight: the root (the sender) sent, over a
// SOCK_STREAM socketpair, a message carrying (SCM_RIGHTS) the read end of
// a pipe, closed its own copy and kept the write end; 11 bytes are in the
// pipe. Child 0 (the receiver) has not read the message at dump time.
// After restore the child receives the message whole, with exactly one
// fd, a pipe; it reads the 11 bytes through it; then the root writes more
// and closes the write end, and the child reads that too and then EOF (no
// other write end of the pipe is left anywhere).
#define _GNU_SOURCE
#include <fcntl.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "prog.h"

static const char kMsg[] = "here is a pipe";
static const char kBefore[] = "before-dump";  // 11 bytes, in the pipe at dump time
static const char kAfter[] = "written after go, through the restored pipe";

static void send_fd(int sock, int fd) {
  char ctl[CMSG_SPACE(sizeof(int))];
  memset(ctl, 0, sizeof ctl);
  struct iovec iov = {.iov_base = (void*)kMsg, .iov_len = sizeof kMsg};
  struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctl, .msg_controllen = sizeof ctl};
  struct cmsghdr* c = CMSG_FIRSTHDR(&mh);
  c->cmsg_level = SOL_SOCKET;
  c->cmsg_type = SCM_RIGHTS;
  c->cmsg_len = CMSG_LEN(sizeof(int));
  memcpy(CMSG_DATA(c), &fd, sizeof fd);
  PROG_CHECK(sendmsg(sock, &mh, 0) == (ssize_t)sizeof kMsg, "sendmsg");
}

// Receives the message; returns the one fd it carries.
static int recv_fd(int sock) {
  char buf[64];
  char ctl[CMSG_SPACE(4 * sizeof(int))];  // room for more, to see extras
  struct iovec iov = {.iov_base = buf, .iov_len = sizeof buf};
  struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctl, .msg_controllen = sizeof ctl};
  struct pollfd p = {.fd = sock, .events = POLLIN};
  PROG_CHECK(poll(&p, 1, 5000) == 1, "no message on the socket");
  ssize_t n = recvmsg(sock, &mh, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
  PROG_CHECK(n >= 0, "recvmsg");
  PROG_CHECK(n == (ssize_t)sizeof kMsg && memcmp(buf, kMsg, sizeof kMsg) == 0, "message of %zd bytes, want '%s'", n,
             kMsg);
  PROG_CHECK(!(mh.msg_flags & MSG_CTRUNC), "control data truncated");
  struct cmsghdr* c = CMSG_FIRSTHDR(&mh);
  PROG_CHECK(c != NULL, "the message carries no control data");
  PROG_CHECK(c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS, "control message %d/%d, want SCM_RIGHTS",
             c->cmsg_level, c->cmsg_type);
  PROG_CHECK(c->cmsg_len == CMSG_LEN(sizeof(int)), "SCM_RIGHTS with %zu fds, want 1",
             (c->cmsg_len - CMSG_LEN(0)) / sizeof(int));
  PROG_CHECK(CMSG_NXTHDR(&mh, c) == NULL, "more than one control message");
  int fd;
  memcpy(&fd, CMSG_DATA(c), sizeof fd);
  return fd;
}

// Reads exactly len bytes (each read waiting at most 5 s).
static void read_exact(int fd, char* buf, size_t len, const char* what) {
  size_t got = 0;
  while (got < len) {
    struct pollfd p = {.fd = fd, .events = POLLIN};
    PROG_CHECK(poll(&p, 1, 5000) == 1, "%s: only %zu of %zu bytes came", what, got, len);
    ssize_t n = read(fd, buf + got, len - got);
    PROG_CHECK(n > 0, "%s: read after %zu of %zu bytes", what, got, len);
    got += (size_t)n;
  }
}

int main(int argc, char** argv) {
  prog_init(argc, argv);
  int sv[2];
  PROG_CHECK(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == 0, "socketpair");
  pid_t c = prog_fork_child(0);
  if (c == 0) {  // the receiver; forked before the pipe exists
    close(sv[0]);
    prog_child_ready(0);
    prog_wait_go();
    int r = recv_fd(sv[1]);
    struct stat st;
    PROG_CHECK(fstat(r, &st) == 0 && S_ISFIFO(st.st_mode), "the received fd is not a pipe");
    char buf[sizeof kAfter];
    read_exact(r, buf, sizeof kBefore, "the bytes from before the dump");
    PROG_CHECK(memcmp(buf, kBefore, sizeof kBefore) == 0, "wrong bytes from before the dump");
    prog_mark("got-fd");
    read_exact(r, buf, sizeof kAfter, "the bytes written after go");
    PROG_CHECK(memcmp(buf, kAfter, sizeof kAfter) == 0, "wrong bytes written after go");
    struct pollfd p = {.fd = r, .events = POLLIN};
    PROG_CHECK(poll(&p, 1, 5000) == 1, "no EOF after the root closed the write end");
    PROG_CHECK(read(r, buf, 1) == 0, "more bytes instead of EOF");
    prog_pass();
  }
  close(sv[1]);
  int pfd[2];
  PROG_CHECK(pipe2(pfd, O_CLOEXEC) == 0, "pipe");
  PROG_CHECK(write(pfd[1], kBefore, sizeof kBefore) == (ssize_t)sizeof kBefore, "write the pipe");
  send_fd(sv[0], pfd[0]);
  close(pfd[0]);  // the read end now lives only in the socket's queue
  prog_wait_children_ready(1);
  prog_ready();
  prog_wait_go();
  prog_wait_mark("got-fd");
  PROG_CHECK(write(pfd[1], kAfter, sizeof kAfter) == (ssize_t)sizeof kAfter, "write the pipe after go");
  close(pfd[1]);
  prog_check_child(c, 0);
  prog_pass();
}
