// Socket options a server sets on its TCP and UDP sockets: reuse, buffer
// sizes, keepalive and its timers, no delay, linger, mark, TOS, priority
// (after TOS, which sets it too), a bound device, a low-water mark, free
// bind and a BPF filter. After restore every one reads back as it was set.
#define _GNU_SOURCE
#include <linux/filter.h>
#include <net/if.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "inet.h"
#include "prog.h"

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

static const struct opt kTcp[] = {
    {SOL_SOCKET, SO_REUSEADDR, 1, "SO_REUSEADDR"}, {SOL_SOCKET, SO_REUSEPORT, 1, "SO_REUSEPORT"},
    {SOL_SOCKET, SO_KEEPALIVE, 1, "SO_KEEPALIVE"}, {SOL_SOCKET, SO_OOBINLINE, 1, "SO_OOBINLINE"},
    {SOL_IP, IP_TOS, 0x10, "IP_TOS"},              {SOL_SOCKET, SO_MARK, 0x1234, "SO_MARK"},
    {SOL_SOCKET, SO_RCVLOWAT, 9, "SO_RCVLOWAT"},   {SOL_TCP, TCP_NODELAY, 1, "TCP_NODELAY"},
    {SOL_TCP, TCP_KEEPIDLE, 77, "TCP_KEEPIDLE"},   {SOL_TCP, TCP_KEEPINTVL, 11, "TCP_KEEPINTVL"},
    {SOL_TCP, TCP_KEEPCNT, 4, "TCP_KEEPCNT"},      {SOL_SOCKET, SO_PRIORITY, 5, "SO_PRIORITY"},
    {SOL_IP, IP_FREEBIND, 1, "IP_FREEBIND"},
};

int main(int argc, char** argv) {
  prog_init(argc, argv);
  int t = socket(AF_INET, SOCK_STREAM, 0);
  PROG_CHECK(t >= 0, "socket");
  for (size_t i = 0; i < sizeof kTcp / sizeof kTcp[0]; i++) set(t, kTcp[i].level, kTcp[i].name, kTcp[i].value);
  set(t, SOL_SOCKET, SO_SNDBUF, 65536);
  set(t, SOL_SOCKET, SO_RCVBUF, 32768);
  int snd = get(t, SOL_SOCKET, SO_SNDBUF), rcv = get(t, SOL_SOCKET, SO_RCVBUF);
  struct linger lg = {1, 3};
  PROG_CHECK(setsockopt(t, SOL_SOCKET, SO_LINGER, &lg, sizeof lg) == 0, "SO_LINGER");
  PROG_CHECK(setsockopt(t, SOL_SOCKET, SO_BINDTODEVICE, "lo", 2) == 0, "SO_BINDTODEVICE");
  struct timeval tmo = {2, 500000};
  PROG_CHECK(setsockopt(t, SOL_SOCKET, SO_RCVTIMEO, &tmo, sizeof tmo) == 0, "SO_RCVTIMEO");
  // A listener on it, so it is bound too.
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  PROG_CHECK(bind(t, (struct sockaddr*)&a, sizeof a) == 0 && listen(t, 2) == 0, "bind and listen");
  int port = inet_port(t);

  // A UDP socket with a filter that takes only 4-byte datagrams (the
  // filter sees the UDP header too: 12 bytes).
  int u = inet_bound(AF_INET, SOCK_DGRAM);
  struct timeval wait = {5, 0};
  PROG_CHECK(setsockopt(u, SOL_SOCKET, SO_RCVTIMEO, &wait, sizeof wait) == 0, "SO_RCVTIMEO");
  struct sock_filter prog[] = {
      BPF_STMT(BPF_LD | BPF_W | BPF_LEN, 0),
      BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 12, 0, 1),
      BPF_STMT(BPF_RET | BPF_K, 0xffff),
      BPF_STMT(BPF_RET | BPF_K, 0),
  };
  struct sock_fprog fp = {4, prog};
  PROG_CHECK(setsockopt(u, SOL_SOCKET, SO_ATTACH_FILTER, &fp, sizeof fp) == 0, "SO_ATTACH_FILTER");
  set(u, SOL_SOCKET, SO_BROADCAST, 1);

  prog_ready();
  prog_wait_go();
  for (size_t i = 0; i < sizeof kTcp / sizeof kTcp[0]; i++) {
    int v = get(t, kTcp[i].level, kTcp[i].name);
    PROG_CHECK(v == kTcp[i].value, "%s is %d, was set to %d", kTcp[i].what, v, kTcp[i].value);
  }
  PROG_CHECK(get(t, SOL_SOCKET, SO_SNDBUF) == snd, "SO_SNDBUF %d, was %d", get(t, SOL_SOCKET, SO_SNDBUF), snd);
  PROG_CHECK(get(t, SOL_SOCKET, SO_RCVBUF) == rcv, "SO_RCVBUF %d, was %d", get(t, SOL_SOCKET, SO_RCVBUF), rcv);
  struct linger lg2;
  socklen_t len = sizeof lg2;
  PROG_CHECK(getsockopt(t, SOL_SOCKET, SO_LINGER, &lg2, &len) == 0 && lg2.l_onoff && lg2.l_linger == 3, "SO_LINGER");
  char dev[IFNAMSIZ] = {0};
  len = sizeof dev;
  PROG_CHECK(getsockopt(t, SOL_SOCKET, SO_BINDTODEVICE, dev, &len) == 0 && strcmp(dev, "lo") == 0,
             "SO_BINDTODEVICE is '%s'", dev);
  struct timeval tmo2;
  len = sizeof tmo2;
  PROG_CHECK(getsockopt(t, SOL_SOCKET, SO_RCVTIMEO, &tmo2, &len) == 0 && tmo2.tv_sec == 2 && tmo2.tv_usec == 500000,
             "SO_RCVTIMEO");
  PROG_CHECK(inet_port(t) == port && get(t, SOL_SOCKET, SO_ACCEPTCONN) == 1, "the listener moved");
  PROG_CHECK(get(u, SOL_SOCKET, SO_BROADCAST) == 1, "SO_BROADCAST");
  len = 0;
  PROG_CHECK(getsockopt(u, SOL_SOCKET, SO_GET_FILTER, NULL, &len) == 0 && len == 4, "the filter has %u instructions",
             len);
  // The filter works: a 5-byte datagram is dropped, a 4-byte one taken.
  int s = socket(AF_INET, SOCK_DGRAM, 0);
  struct sockaddr_in to = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK),
                           .sin_port = htons((unsigned short)inet_port(u))};
  PROG_CHECK(sendto(s, "12345", 5, 0, (struct sockaddr*)&to, sizeof to) == 5, "sendto");
  PROG_CHECK(sendto(s, "abcd", 4, 0, (struct sockaddr*)&to, sizeof to) == 4, "sendto");
  char buf[8];
  PROG_CHECK(recv(u, buf, sizeof buf, 0) == 4 && memcmp(buf, "abcd", 4) == 0, "the filter let the wrong one through");
  prog_pass();
}
