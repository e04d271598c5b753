// Two TCP connections between a parent and its child, one over IPv4 and
// one over IPv6 loopback, with data sent and not read yet in both
// directions at dump time. After restore each side reads exactly what
// the other sent, the ends keep their ports, a new exchange works, and
// closing gives the other side EOF.
#define _GNU_SOURCE
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "inet.h"
#include "prog.h"

#define LEN 5000

static void send_stream(int fd, int seed) {
  unsigned char buf[LEN];
  inet_pattern(buf, LEN, seed, 0);
  inet_send_all(fd, buf, 1000);
  inet_send_all(fd, buf + 1000, LEN - 1000);
}

static void check_stream(int fd, int seed, const char* what) {
  unsigned char buf[LEN];
  inet_recv_all(fd, buf, LEN);
  inet_check_pattern(buf, LEN, seed, 0, what);
}

static void ping(int fd, const char* what) {
  inet_send_all(fd, "ping", 4);
  char buf[4];
  inet_recv_all(fd, buf, 4);
  PROG_CHECK(memcmp(buf, "pong", 4) == 0, "%s: no pong", what);
}

static void pong(int fd, const char* what) {
  char buf[4];
  inet_recv_all(fd, buf, 4);
  PROG_CHECK(memcmp(buf, "ping", 4) == 0, "%s: no ping", what);
  inet_send_all(fd, "pong", 4);
}

int main(int argc, char** argv) {
  prog_init(argc, argv);
  int l4 = inet_listener(AF_INET, 4), l6 = inet_listener(AF_INET6, 4);
  int c4 = inet_connect_to(l4), c6 = inet_connect_to(l6);
  int s4 = accept(l4, NULL, NULL), s6 = accept(l6, NULL, NULL);
  PROG_CHECK(s4 >= 0 && s6 >= 0, "accept");
  close(l4);
  close(l6);
  int cport4 = inet_port(c4), cport6 = inet_port(c6), sport4 = inet_port(s4), sport6 = inet_port(s6);
  pid_t child = prog_fork_child(0);
  if (child == 0) {
    close(s4);
    close(s6);
    send_stream(c4, 1);
    send_stream(c6, 2);
    prog_child_ready(0);
    prog_wait_go();
    PROG_CHECK(inet_port(c4) == cport4 && inet_peer_port(c4) == sport4, "child: IPv4 ends moved");
    PROG_CHECK(inet_port(c6) == cport6 && inet_peer_port(c6) == sport6, "child: IPv6 ends moved");
    check_stream(c4, 3, "child IPv4");
    check_stream(c6, 4, "child IPv6");
    ping(c4, "child IPv4");
    pong(c6, "child IPv6");
    close(c4);
    close(c6);
    prog_pass();
  }
  close(c4);
  close(c6);
  send_stream(s4, 3);
  send_stream(s6, 4);
  prog_wait_children_ready(1);
  prog_ready();
  prog_wait_go();
  PROG_CHECK(inet_port(s4) == sport4 && inet_peer_port(s4) == cport4, "parent: IPv4 ends moved");
  PROG_CHECK(inet_port(s6) == sport6 && inet_peer_port(s6) == cport6, "parent: IPv6 ends moved");
  check_stream(s4, 1, "parent IPv4");
  check_stream(s6, 2, "parent IPv6");
  pong(s4, "parent IPv4");
  ping(s6, "parent IPv6");
  prog_check_child(child, 0);
  char b;
  PROG_CHECK(recv(s4, &b, 1, 0) == 0, "IPv4: no EOF after the child closed");
  PROG_CHECK(recv(s6, &b, 1, 0) == 0, "IPv6: no EOF after the child closed");
  prog_pass();
}
