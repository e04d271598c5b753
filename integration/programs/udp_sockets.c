// UDP and UDP-lite sockets, IPv4 and IPv6: bound ones, and ones connected
// to them. After restore they are bound and connected as before, and
// datagrams go both ways with the right source addresses.
#define _GNU_SOURCE
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "inet.h"
#include "prog.h"

struct pair {
  int server, client, sport, cport;
};

static struct pair make(int family, int proto) {
  struct pair p;
  p.server = inet_bound_proto(family, SOCK_DGRAM, proto);
  struct sockaddr_storage a;
  socklen_t len = sizeof a;
  PROG_CHECK(getsockname(p.server, (struct sockaddr*)&a, &len) == 0, "getsockname");
  p.client = socket(family, SOCK_DGRAM, proto);
  PROG_CHECK(p.client >= 0 && connect(p.client, (struct sockaddr*)&a, len) == 0, "connect");
  p.sport = inet_port(p.server);
  p.cport = inet_port(p.client);
  return p;
}

static void check(struct pair* p, const char* what) {
  PROG_CHECK(inet_port(p->server) == p->sport, "%s: server port moved", what);
  PROG_CHECK(inet_port(p->client) == p->cport && inet_peer_port(p->client) == p->sport, "%s: client ends moved", what);
  PROG_CHECK(send(p->client, "query", 5, 0) == 5, "%s: send", what);
  char buf[16];
  struct sockaddr_storage from;
  socklen_t len = sizeof from;
  ssize_t n = recvfrom(p->server, buf, sizeof buf, 0, (struct sockaddr*)&from, &len);
  PROG_CHECK(n == 5 && memcmp(buf, "query", 5) == 0, "%s: server got %zd bytes", what, n);
  PROG_CHECK(sendto(p->server, "reply", 5, 0, (struct sockaddr*)&from, len) == 5, "%s: sendto", what);
  n = recv(p->client, buf, sizeof buf, 0);
  PROG_CHECK(n == 5 && memcmp(buf, "reply", 5) == 0, "%s: client got %zd bytes", what, n);
}

int main(int argc, char** argv) {
  prog_init(argc, argv);
  struct pair v4 = make(AF_INET, 0), v6 = make(AF_INET6, 0), lite = make(AF_INET, IPPROTO_UDPLITE);
  prog_ready();
  prog_wait_go();
  check(&v4, "UDP IPv4");
  check(&v6, "UDP IPv6");
  check(&lite, "UDP-lite");
  int proto = -1;
  socklen_t len = sizeof proto;
  PROG_CHECK(getsockopt(lite.server, SOL_SOCKET, SO_PROTOCOL, &proto, &len) == 0 && proto == IPPROTO_UDPLITE,
             "UDP-lite became protocol %d", proto);
  prog_pass();
}
