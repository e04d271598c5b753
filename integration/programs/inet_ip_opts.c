// IP-level options of UDP and raw sockets, IPv4 and IPv6: TTL, TOS,
// packet info, free bind (on, and cleared after binding to an address
// the host does not have), no-defrag, an ICMPv6 type filter; and two TCP
// listeners that shared one port with SO_REUSEPORT, the first of which
// turned it off since. After restore every option reads back as set,
// the sockets are bound where they were, and both listeners listen.
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <netinet/icmp6.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "inet.h"
#include "prog.h"

#ifndef IPV6_FREEBIND
#define IPV6_FREEBIND 78
#endif

static int get(int fd, int level, int name) {
  int v = -1;
  socklen_t len = sizeof v;
  PROG_CHECK(getsockopt(fd, level, name, &v, &len) == 0, "getsockopt %d/%d", level, name);
  return v;
}

static void set(int fd, int level, int name, int v) {
  PROG_CHECK(setsockopt(fd, level, name, &v, sizeof v) == 0, "setsockopt %d/%d = %d", level, name, v);
}

struct opt {
  int level, name, value;
  const char* what;
};

static const struct opt kV4[] = {
    {SOL_IP, IP_TTL, 32, "IP_TTL"},          {SOL_IP, IP_TOS, 0x08, "IP_TOS"},
    {SOL_IP, IP_PKTINFO, 1, "IP_PKTINFO"},   {SOL_IP, IP_FREEBIND, 1, "IP_FREEBIND"},
    {SOL_IP, IP_NODEFRAG, 1, "IP_NODEFRAG"},
};
static const struct opt kV6[] = {
    {SOL_IPV6, IPV6_FREEBIND, 1, "IPV6_FREEBIND"},
    {SOL_IPV6, IPV6_RECVPKTINFO, 1, "IPV6_RECVPKTINFO"},
};

struct sk {
  int fd, family;
};

static struct sk make(int family, int type, int proto) {
  struct sk s = {socket(family, type, proto), family};
  PROG_CHECK(s.fd >= 0, "socket(%d, %d, %d)", family, type, proto);
  const struct opt* o = family == AF_INET ? kV4 : kV6;
  size_t n = family == AF_INET ? sizeof kV4 / sizeof kV4[0] : sizeof kV6 / sizeof kV6[0];
  for (size_t i = 0; i < n; i++)
    if (o[i].name != IP_NODEFRAG || type == SOCK_RAW) set(s.fd, o[i].level, o[i].name, o[i].value);
  return s;
}

static void check(struct sk s, int type, const char* what) {
  const struct opt* o = s.family == AF_INET ? kV4 : kV6;
  size_t n = s.family == AF_INET ? sizeof kV4 / sizeof kV4[0] : sizeof kV6 / sizeof kV6[0];
  for (size_t i = 0; i < n; i++) {
    if (o[i].name == IP_NODEFRAG && type != SOCK_RAW) continue;
    int v = get(s.fd, o[i].level, o[i].name);
    PROG_CHECK(v == o[i].value, "%s: %s is %d, was %d", what, o[i].what, v, o[i].value);
  }
}

int main(int argc, char** argv) {
  prog_init(argc, argv);
  struct sk udp4 = make(AF_INET, SOCK_DGRAM, IPPROTO_UDP), raw4 = make(AF_INET, SOCK_RAW, IPPROTO_UDP);
  struct sk udp6 = make(AF_INET6, SOCK_DGRAM, IPPROTO_UDP), raw6 = make(AF_INET6, SOCK_RAW, IPPROTO_UDP);
  // An ICMPv6 socket that takes echo replies only.
  int icmp6 = socket(AF_INET6, SOCK_RAW, IPPROTO_ICMPV6);
  PROG_CHECK(icmp6 >= 0, "raw ICMPv6 socket");
  struct icmp6_filter f;
  ICMP6_FILTER_SETBLOCKALL(&f);
  ICMP6_FILTER_SETPASS(ICMP6_ECHO_REPLY, &f);
  PROG_CHECK(setsockopt(icmp6, SOL_ICMPV6, ICMP6_FILTER, &f, sizeof f) == 0, "ICMP6_FILTER");
  // Bound to an address nobody has, by free bind, which is off again.
  int away = socket(AF_INET6, SOCK_DGRAM, 0);
  PROG_CHECK(away >= 0, "socket");
  set(away, SOL_IP, IP_FREEBIND, 1);
  struct sockaddr_in6 a6 = {.sin6_family = AF_INET6, .sin6_port = htons(0)};
  inet_pton(AF_INET6, "2001:db8::4:2", &a6.sin6_addr);
  PROG_CHECK(bind(away, (struct sockaddr*)&a6, sizeof a6) == 0, "bind to 2001:db8::4:2");
  set(away, SOL_IP, IP_FREEBIND, 0);
  int away_port = inet_port(away);
  // Two listeners on one port; the first one stops sharing it.
  int l1 = socket(AF_INET, SOCK_STREAM, 0), l2 = socket(AF_INET, SOCK_STREAM, 0);
  PROG_CHECK(l1 >= 0 && l2 >= 0, "socket");
  set(l1, SOL_SOCKET, SO_REUSEPORT, 1);
  set(l2, SOL_SOCKET, SO_REUSEPORT, 1);
  struct sockaddr_in a4 = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  PROG_CHECK(bind(l1, (struct sockaddr*)&a4, sizeof a4) == 0 && listen(l1, 4) == 0, "first listener");
  a4.sin_port = htons((unsigned short)inet_port(l1));
  PROG_CHECK(bind(l2, (struct sockaddr*)&a4, sizeof a4) == 0 && listen(l2, 4) == 0, "second listener");
  set(l1, SOL_SOCKET, SO_REUSEPORT, 0);
  int port = inet_port(l1);
  prog_ready();
  prog_wait_go();
  check(udp4, SOCK_DGRAM, "UDP IPv4");
  check(raw4, SOCK_RAW, "raw IPv4");
  check(udp6, SOCK_DGRAM, "UDP IPv6");
  check(raw6, SOCK_RAW, "raw IPv6");
  struct icmp6_filter g;
  socklen_t len = sizeof g;
  PROG_CHECK(getsockopt(icmp6, SOL_ICMPV6, ICMP6_FILTER, &g, &len) == 0 && memcmp(&f, &g, sizeof f) == 0,
             "the ICMPv6 filter changed");
  PROG_CHECK(get(away, SOL_IP, IP_FREEBIND) == 0, "free bind is on again");
  struct sockaddr_in6 b6;
  len = sizeof b6;
  PROG_CHECK(getsockname(away, (struct sockaddr*)&b6, &len) == 0 && memcmp(&b6.sin6_addr, &a6.sin6_addr, 16) == 0 &&
                 ntohs(b6.sin6_port) == away_port,
             "the free-bound socket moved");
  PROG_CHECK(get(l1, SOL_SOCKET, SO_REUSEPORT) == 0 && get(l2, SOL_SOCKET, SO_REUSEPORT) == 1, "SO_REUSEPORT %d %d",
             get(l1, SOL_SOCKET, SO_REUSEPORT), get(l2, SOL_SOCKET, SO_REUSEPORT));
  PROG_CHECK(inet_port(l1) == port && inet_port(l2) == port, "the listeners moved");
  PROG_CHECK(get(l1, SOL_SOCKET, SO_ACCEPTCONN) == 1 && get(l2, SOL_SOCKET, SO_ACCEPTCONN) == 1, "not listening");
  prog_pass();
}
