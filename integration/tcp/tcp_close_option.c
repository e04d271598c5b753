// --tcp-close: a connection is not kept but comes back closed, as after a
// reset, while the listener it came from is kept. After restore the old
// ends are closed sockets (reads end, writes fail), and the listener
// takes a new connection that works.
#define _GNU_SOURCE
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "inet.h"
#include "prog.h"

static int state(int fd) {
  struct tcp_info ti;
  socklen_t len = sizeof ti;
  PROG_CHECK(getsockopt(fd, SOL_TCP, TCP_INFO, &ti, &len) == 0, "TCP_INFO");
  return ti.tcpi_state;
}

int main(int argc, char** argv) {
  prog_init(argc, argv);
  int l = inet_listener(AF_INET, 2);
  int c, s;
  inet_tcp_pair(l, &c, &s);
  inet_send_all(c, "lost", 4);
  prog_ready();
  prog_wait_go();
  PROG_CHECK(state(c) == TCP_CLOSE && state(s) == TCP_CLOSE, "states %d %d, not closed", state(c), state(s));
  char buf[8];
  ssize_t n = recv(s, buf, sizeof buf, MSG_DONTWAIT);
  PROG_CHECK(n <= 0, "the closed server end still had %zd bytes", n);
  PROG_CHECK(send(c, "x", 1, MSG_NOSIGNAL) < 0, "the closed client end could still send");
  int c2, s2;
  inet_tcp_pair(l, &c2, &s2);
  inet_send_all(c2, "new", 3);
  inet_recv_all(s2, buf, 3);
  PROG_CHECK(memcmp(buf, "new", 3) == 0, "a new connection");
  prog_pass();
}
