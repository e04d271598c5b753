// A datagram server bound to an abstract name ("\0cryo-abs-<pid>") and a
// child's socket connected to it, with 4 datagrams of different sizes
// queued at the server at dump time. After restore the server reads them in
// order with their boundaries, getsockname still gives the abstract name,
// and the child's socket is still connected: a send without an address
// arrives.
#define _GNU_SOURCE
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "prog.h"

static const size_t kSizes[] = {1, 77, 1400, 5000};

static socklen_t abstract_addr(struct sockaddr_un* a, pid_t pid) {
  memset(a, 0, sizeof *a);
  a->sun_family = AF_UNIX;
  int n = snprintf(a->sun_path + 1, sizeof a->sun_path - 1, "cryo-abs-%d", pid);
  return (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 + (size_t)n);
}

int main(int argc, char** argv) {
  prog_init(argc, argv);
  struct sockaddr_un addr;
  socklen_t len = abstract_addr(&addr, getpid());
  int srv = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  PROG_CHECK(srv >= 0 && bind(srv, (struct sockaddr*)&addr, len) == 0, "bind abstract");
  pid_t c = prog_fork_child(0);
  if (c == 0) {
    close(srv);
    int cl = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    PROG_CHECK(cl >= 0 && connect(cl, (struct sockaddr*)&addr, len) == 0, "child: connect");
    char buf[5000];
    for (size_t i = 0; i < sizeof kSizes / sizeof *kSizes; i++) {
      memset(buf, 'a' + (int)i, kSizes[i]);
      PROG_CHECK(send(cl, buf, kSizes[i], 0) == (ssize_t)kSizes[i], "child: send %zu", i);
    }
    prog_child_ready(0);
    prog_wait_go();
    prog_wait_mark("drained");
    PROG_CHECK(send(cl, "again", 5, 0) == 5, "child: send after restore (still connected?)");
    prog_pass();
  }
  prog_wait_children_ready(1);
  prog_ready();
  prog_wait_go();
  char buf[8192];
  for (size_t i = 0; i < sizeof kSizes / sizeof *kSizes; i++) {
    ssize_t n = recv(srv, buf, sizeof buf, MSG_DONTWAIT);
    PROG_CHECK(n == (ssize_t)kSizes[i], "datagram %zu: %zd bytes, want %zu", i, n, kSizes[i]);
    for (ssize_t k = 0; k < n; k++) PROG_CHECK(buf[k] == 'a' + (int)i, "datagram %zu byte %zd", i, k);
  }
  PROG_CHECK(recv(srv, buf, sizeof buf, MSG_DONTWAIT) < 0, "a datagram more than sent");
  prog_mark("drained");
  prog_check_child(c, 0);
  ssize_t n = recv(srv, buf, sizeof buf, MSG_DONTWAIT);
  PROG_CHECK(n == 5 && memcmp(buf, "again", 5) == 0, "the child's datagram after restore: %zd bytes", n);
  struct sockaddr_un got;
  socklen_t glen = sizeof got;
  PROG_CHECK(getsockname(srv, (struct sockaddr*)&got, &glen) == 0 && glen == len && memcmp(&got, &addr, len) == 0,
             "getsockname: the abstract name is lost");
  prog_pass();
}
