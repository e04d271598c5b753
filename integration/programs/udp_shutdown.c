// UDP sockets shut down: a connected pair, one end shut for writing and
// the other for reading, a bound socket with no peer shut both ways, and
// an unbound one shut for reading.
// After restore the writer still cannot send (EPIPE) but receives, the
// reader still sends, and every socket polls as it did (RDHUP, HUP).
#define _GNU_SOURCE
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "inet.h"
#include "prog.h"

static short events(int fd) {
  struct pollfd p = {.fd = fd, .events = POLLIN | POLLOUT | POLLRDHUP};
  PROG_CHECK(poll(&p, 1, 0) >= 0, "poll");
  return p.revents & (POLLRDHUP | POLLHUP);
}

int main(int argc, char** argv) {
  prog_init(argc, argv);
  signal(SIGPIPE, SIG_IGN);
  int a = inet_bound(AF_INET, SOCK_DGRAM), b = inet_bound(AF_INET, SOCK_DGRAM);
  struct sockaddr_storage aa, ba;
  socklen_t la = sizeof aa, lb = sizeof ba;
  PROG_CHECK(getsockname(a, (struct sockaddr*)&aa, &la) == 0 && getsockname(b, (struct sockaddr*)&ba, &lb) == 0,
             "getsockname");
  PROG_CHECK(connect(a, (struct sockaddr*)&ba, lb) == 0 && connect(b, (struct sockaddr*)&aa, la) == 0, "connect");
  PROG_CHECK(shutdown(a, SHUT_WR) == 0 && shutdown(b, SHUT_RD) == 0, "shutdown");
  int lone = inet_bound(AF_INET6, SOCK_DGRAM);
  PROG_CHECK(shutdown(lone, SHUT_RDWR) == -1 && errno == ENOTCONN, "shutdown of an unconnected socket");
  int unbound = socket(AF_INET, SOCK_DGRAM, 0);
  PROG_CHECK(unbound >= 0 && shutdown(unbound, SHUT_RD) == -1 && errno == ENOTCONN, "shutdown of an unbound socket");
  short ea = events(a), eb = events(b), el = events(lone), eu = events(unbound);
  PROG_CHECK(eu == POLLRDHUP, "unbound: poll %#x", eu);
  PROG_CHECK(eb == POLLRDHUP && ea == 0 && el == (POLLRDHUP | POLLHUP), "poll before: %#x %#x %#x", ea, eb, el);
  prog_ready();
  prog_wait_go();
  PROG_CHECK(events(a) == ea && events(b) == eb && events(lone) == el, "poll now %#x %#x %#x, was %#x %#x %#x",
             events(a), events(b), events(lone), ea, eb, el);
  PROG_CHECK(events(unbound) == eu, "unbound: poll now %#x, was %#x", events(unbound), eu);
  PROG_CHECK(send(a, "x", 1, MSG_DONTWAIT) == -1 && errno == EPIPE, "the shut writer sent");
  PROG_CHECK(send(lone, "x", 1, MSG_DONTWAIT) == -1, "the shut lone socket sent");
  PROG_CHECK(send(b, "ping", 4, 0) == 4, "send from the shut reader");
  char buf[8];
  PROG_CHECK(recv(a, buf, sizeof buf, 0) == 4 && memcmp(buf, "ping", 4) == 0, "the shut writer did not receive");
  PROG_CHECK(inet_peer_port(a) == inet_port(b) && inet_peer_port(b) == inet_port(a), "peers moved");
  prog_pass();
}
