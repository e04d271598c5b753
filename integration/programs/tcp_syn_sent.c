// A TCP connection still connecting: its listener drops every segment
// (a BPF filter that takes nothing), so the client stays in SYN_SENT.
// After restore the client is still connecting to the same peer; once
// the filter is gone its SYN, sent again, is answered, the listener
// accepts it, and data goes both ways.
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/filter.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
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
  int l = inet_listener(AF_INET, 4);
  struct sock_filter none[] = {BPF_STMT(BPF_RET | BPF_K, 0)};
  struct sock_fprog prog = {1, none};
  PROG_CHECK(setsockopt(l, SOL_SOCKET, SO_ATTACH_FILTER, &prog, sizeof prog) == 0, "SO_ATTACH_FILTER");
  struct sockaddr_storage a;
  socklen_t len = sizeof a;
  PROG_CHECK(getsockname(l, (struct sockaddr*)&a, &len) == 0, "getsockname");
  int c = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
  PROG_CHECK(c >= 0, "socket");
  PROG_CHECK(connect(c, (struct sockaddr*)&a, len) == -1 && errno == EINPROGRESS, "connect");
  usleep(50000);
  PROG_CHECK(state(c) == TCP_SYN_SENT, "state %d", state(c));
  int port = inet_port(c);
  prog_ready();
  prog_wait_go();
  PROG_CHECK(state(c) == TCP_SYN_SENT, "state now %d", state(c));
  PROG_CHECK(inet_port(c) == port, "the client's port moved");
  int zero = 0;
  PROG_CHECK(setsockopt(l, SOL_SOCKET, SO_DETACH_FILTER, &zero, sizeof zero) == 0, "SO_DETACH_FILTER");
  struct pollfd p = {.fd = c, .events = POLLOUT};
  PROG_CHECK(poll(&p, 1, 20000) == 1 && !(p.revents & (POLLERR | POLLHUP)), "never connected (%#x)", p.revents);
  PROG_CHECK(state(c) == TCP_ESTABLISHED && inet_peer_port(c) == inet_port(l), "connected elsewhere");
  int s = accept(l, NULL, NULL);
  PROG_CHECK(s >= 0, "accept");
  PROG_CHECK(fcntl(c, F_SETFL, 0) == 0, "blocking");
  inet_send_all(c, "syn", 3);
  char buf[3];
  inet_recv_all(s, buf, 3);
  inet_send_all(s, "ack", 3);
  inet_recv_all(c, buf, 3);
  prog_pass();
}
