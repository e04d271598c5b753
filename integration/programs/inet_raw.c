// A raw ICMP socket with an ICMP filter that lets only echo replies in,
// and a raw IPv6 socket. After restore they are the same kinds, the
// filter is in place, and an echo request to 127.0.0.1 is answered.
#define _GNU_SOURCE
#include <linux/icmp.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "prog.h"

static unsigned short checksum(const void* data, size_t len) {
  const unsigned char* p = data;
  unsigned long sum = 0;
  for (size_t i = 0; i + 1 < len; i += 2) sum += (unsigned)(p[i] << 8 | p[i + 1]);
  if (len & 1) sum += (unsigned)(p[len - 1] << 8);
  while (sum >> 16) sum = (sum & 0xffff) + (sum >> 16);
  return htons((unsigned short)~sum);
}

int main(int argc, char** argv) {
  prog_init(argc, argv);
  int r = socket(AF_INET, SOCK_RAW, IPPROTO_ICMP);
  PROG_CHECK(r >= 0, "raw ICMP socket");
  struct icmp_filter f = {~(1u << ICMP_ECHOREPLY)};
  PROG_CHECK(setsockopt(r, SOL_RAW, ICMP_FILTER, &f, sizeof f) == 0, "ICMP_FILTER");
  int r6 = socket(AF_INET6, SOCK_RAW, IPPROTO_UDP);
  PROG_CHECK(r6 >= 0, "raw IPv6 socket");
  prog_ready();
  prog_wait_go();
  int type = 0, proto = 0;
  socklen_t len = sizeof type;
  PROG_CHECK(getsockopt(r, SOL_SOCKET, SO_TYPE, &type, &len) == 0 && type == SOCK_RAW, "type %d", type);
  len = sizeof proto;
  PROG_CHECK(getsockopt(r6, SOL_SOCKET, SO_PROTOCOL, &proto, &len) == 0 && proto == IPPROTO_UDP, "raw IPv6 protocol %d",
             proto);
  struct icmp_filter g = {0};
  len = sizeof g;
  PROG_CHECK(getsockopt(r, SOL_RAW, ICMP_FILTER, &g, &len) == 0 && g.data == f.data, "ICMP filter %#x", g.data);
  struct icmphdr echo = {.type = ICMP_ECHO, .un.echo = {.id = htons(0x4242), .sequence = htons(7)}};
  echo.checksum = checksum(&echo, sizeof echo);
  struct sockaddr_in to = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  PROG_CHECK(sendto(r, &echo, sizeof echo, 0, (struct sockaddr*)&to, sizeof to) == sizeof echo, "send echo");
  // The filter keeps our own request out: the first packet is the reply.
  unsigned char buf[256];
  ssize_t n = recv(r, buf, sizeof buf, 0);
  PROG_CHECK(n >= 20 + (ssize_t)sizeof echo, "recv %zd", n);
  const struct icmphdr* got = (const struct icmphdr*)(buf + (buf[0] & 0xf) * 4);
  PROG_CHECK(got->type == ICMP_ECHOREPLY && got->un.echo.id == htons(0x4242), "got ICMP type %d", got->type);
  prog_pass();
}
