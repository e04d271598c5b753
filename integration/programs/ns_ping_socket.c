// A ping socket (SOCK_DGRAM, IPPROTO_ICMP) in a network namespace of the
// program's own whose ping_group_range lets its group make one. After restore the range is
// as set, the socket is still a ping socket, and an echo request to
// 127.0.0.1 is answered on it.
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <fcntl.h>
#include <net/if.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <linux/icmp.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "prog.h"

static const char kRange[] = "0\t4242";

static void read_range(char* buf, size_t len) {
  int fd = open("/proc/sys/net/ipv4/ping_group_range", O_RDONLY);
  PROG_CHECK(fd >= 0, "open ping_group_range");
  ssize_t n = read(fd, buf, len - 1);
  PROG_CHECK(n > 0, "read ping_group_range");
  buf[n] = 0;
  if (buf[n - 1] == '\n') buf[n - 1] = 0;
  close(fd);
}

int main(int argc, char** argv) {
  prog_init(argc, argv);
  PROG_CHECK(unshare(CLONE_NEWNET) == 0, "unshare(CLONE_NEWNET)");
  int sk = socket(AF_INET, SOCK_DGRAM, 0);
  struct ifreq r = {0};
  strcpy(r.ifr_name, "lo");
  PROG_CHECK(sk >= 0 && ioctl(sk, SIOCGIFFLAGS, &r) == 0, "lo flags");
  r.ifr_flags |= IFF_UP;
  PROG_CHECK(ioctl(sk, SIOCSIFFLAGS, &r) == 0, "lo up");
  close(sk);
  int fd = open("/proc/sys/net/ipv4/ping_group_range", O_WRONLY);
  PROG_CHECK(fd >= 0 && write(fd, kRange, strlen(kRange)) == (ssize_t)strlen(kRange), "set ping_group_range");
  close(fd);
  int p = socket(AF_INET, SOCK_DGRAM, IPPROTO_ICMP);
  PROG_CHECK(p >= 0, "ping socket");
  prog_ready();
  prog_wait_go();
  char range[64];
  read_range(range, sizeof range);
  PROG_CHECK(strcmp(range, kRange) == 0, "ping_group_range is '%s'", range);
  int proto = 0;
  socklen_t len = sizeof proto;
  PROG_CHECK(getsockopt(p, SOL_SOCKET, SO_PROTOCOL, &proto, &len) == 0 && proto == IPPROTO_ICMP, "protocol %d", proto);
  struct icmphdr echo = {.type = ICMP_ECHO, .un.echo = {.sequence = htons(3)}};
  struct sockaddr_in to = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  PROG_CHECK(sendto(p, &echo, sizeof echo, 0, (struct sockaddr*)&to, sizeof to) == sizeof echo, "send echo");
  struct icmphdr reply;
  PROG_CHECK(recv(p, &reply, sizeof reply, 0) == sizeof reply && reply.type == ICMP_ECHOREPLY &&
                 reply.un.echo.sequence == htons(3),
             "no echo reply");
  prog_pass();
}
