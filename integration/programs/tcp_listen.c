// TCP listeners on 127.0.0.1 and [::1] (v6only), with their backlogs.
// After restore each still listens on its port and takes a new
// connection that carries data both ways.
#define _GNU_SOURCE
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "inet.h"
#include "prog.h"

static void check_listener(int l, int port, const char* name) {
  PROG_CHECK(inet_port(l) == port, "%s: port %d, was %d", name, inet_port(l), port);
  int v = 0;
  socklen_t len = sizeof v;
  PROG_CHECK(getsockopt(l, SOL_SOCKET, SO_ACCEPTCONN, &v, &len) == 0 && v == 1, "%s: not listening", name);
  int c, s;
  inet_tcp_pair(l, &c, &s);
  inet_send_all(c, "hello", 5);
  char buf[5];
  inet_recv_all(s, buf, 5);
  PROG_CHECK(memcmp(buf, "hello", 5) == 0, "%s: client to server", name);
  inet_send_all(s, "world", 5);
  inet_recv_all(c, buf, 5);
  PROG_CHECK(memcmp(buf, "world", 5) == 0, "%s: server to client", name);
  close(c);
  close(s);
}

int main(int argc, char** argv) {
  prog_init(argc, argv);
  int l4 = inet_listener(AF_INET, 7);
  int l6 = inet_listener(AF_INET6, 3);
  int p4 = inet_port(l4), p6 = inet_port(l6);
  prog_ready();
  prog_wait_go();
  check_listener(l4, p4, "IPv4 listener");
  check_listener(l6, p6, "IPv6 listener");
  int v6only = 0;
  socklen_t len = sizeof v6only;
  PROG_CHECK(getsockopt(l6, IPPROTO_IPV6, IPV6_V6ONLY, &v6only, &len) == 0 && v6only == 1, "IPv6 listener lost v6only");
  prog_pass();
}
