// A SOCK_DGRAM socket bound to a path in the prog dir and connected to
// its own name; it sent itself one datagram (12 bytes) before the dump,
// not read yet. After restore: its name and its peer's are that path; it
// reads the datagram; a write() without address comes back to it; another
// socket's sendto() to the path fails with EPERM (it hears itself only).
#define _GNU_SOURCE
#include <errno.h>
#include <poll.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "prog.h"

static struct sockaddr_un me;
static socklen_t me_len;

static void check_name(int fd, bool peer) {
  struct sockaddr_un got;
  socklen_t len = sizeof got;
  memset(&got, 0, sizeof got);
  int r = peer ? getpeername(fd, (struct sockaddr*)&got, &len) : getsockname(fd, (struct sockaddr*)&got, &len);
  PROG_CHECK(r == 0, "get%sname", peer ? "peer" : "sock");
  PROG_CHECK(len == me_len && strcmp(got.sun_path, me.sun_path) == 0, "%s name is '%s', want '%s'",
             peer ? "the peer's" : "its", got.sun_path, me.sun_path);
}

static void recv_text(int fd, const char* text) {
  char buf[64] = {0};
  struct pollfd p = {.fd = fd, .events = POLLIN};
  PROG_CHECK(poll(&p, 1, 5000) == 1, "'%s' never came", text);
  ssize_t n = recv(fd, buf, sizeof buf - 1, MSG_DONTWAIT);
  PROG_CHECK(n == (ssize_t)strlen(text) && strcmp(buf, text) == 0, "got '%s' (%zd bytes), want '%s'", buf, n, text);
}

int main(int argc, char** argv) {
  prog_init(argc, argv);
  me.sun_family = AF_UNIX;
  snprintf(me.sun_path, sizeof me.sun_path, "%s/self.sock", getenv("CRYO_PROG_DIR"));
  me_len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + strlen(me.sun_path) + 1);
  int s = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  PROG_CHECK(bind(s, (struct sockaddr*)&me, me_len) == 0, "bind");
  PROG_CHECK(connect(s, (struct sockaddr*)&me, me_len) == 0, "connect to itself");
  PROG_CHECK(write(s, "before dump!", 12) == 12, "write to itself");
  prog_ready();
  prog_wait_go();
  check_name(s, false);
  check_name(s, true);
  recv_text(s, "before dump!");
  PROG_CHECK(write(s, "after", 5) == 5, "write to itself after go");
  recv_text(s, "after");
  int c = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  PROG_CHECK(sendto(c, "other", 5, 0, (struct sockaddr*)&me, me_len) < 0 && errno == EPERM,
             "another socket could send to it: it is connected to itself only");
  prog_pass();
}
