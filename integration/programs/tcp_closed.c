// TCP connections that ended while the program kept their sockets: both
// ends shut for writing, each FIN acknowledged (the client's end waits
// in TIME_WAIT, holding its port), and a listener that is still open.
// After restore both sockets are closed, read EOF and fail to write
// (EPIPE), and the listener takes a new connection.
#define _GNU_SOURCE
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
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

static void check_closed(int fd, const char* what) {
  char c;
  PROG_CHECK(state(fd) == TCP_CLOSE, "%s: state %d", what, state(fd));
  PROG_CHECK(recv(fd, &c, 1, MSG_DONTWAIT) == 0, "%s: no EOF", what);
  struct pollfd p = {.fd = fd, .events = POLLIN};
  PROG_CHECK(poll(&p, 1, 0) == 1 && (p.revents & POLLHUP), "%s: no POLLHUP (%#x)", what, p.revents);
  PROG_CHECK(send(fd, "x", 1, MSG_DONTWAIT) == -1 && errno == EPIPE, "%s: send did not fail with EPIPE", what);
}

int main(int argc, char** argv) {
  prog_init(argc, argv);
  signal(SIGPIPE, SIG_IGN);
  int l = inet_listener(AF_INET, 4);
  int c, s;
  inet_tcp_pair(l, &c, &s);
  PROG_CHECK(shutdown(c, SHUT_WR) == 0, "shutdown client");
  PROG_CHECK(shutdown(s, SHUT_WR) == 0, "shutdown server");
  for (int i = 0; i < 100 && (state(c) != TCP_CLOSE || state(s) != TCP_CLOSE); i++) usleep(10000);
  check_closed(c, "client before");
  check_closed(s, "server before");
  prog_ready();
  prog_wait_go();
  check_closed(c, "client");
  check_closed(s, "server");
  int c2, s2;
  inet_tcp_pair(l, &c2, &s2);
  inet_send_all(c2, "hi", 2);
  char buf[2];
  inet_recv_all(s2, buf, 2);
  prog_pass();
}
