#define _GNU_SOURCE
#include "inet.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <string.h>
#include <unistd.h>

#include "prog.h"

static socklen_t loopback(int family, struct sockaddr_storage* a) {
  memset(a, 0, sizeof *a);
  if (family == AF_INET) {
    struct sockaddr_in* v4 = (struct sockaddr_in*)a;
    v4->sin_family = AF_INET;
    v4->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    return sizeof *v4;
  }
  struct sockaddr_in6* v6 = (struct sockaddr_in6*)a;
  v6->sin6_family = AF_INET6;
  v6->sin6_addr = in6addr_loopback;
  return sizeof *v6;
}

int inet_bound(int family, int type) { return inet_bound_proto(family, type, 0); }

int inet_bound_proto(int family, int type, int proto) {
  int fd = socket(family, type, proto);
  PROG_CHECK(fd >= 0, "socket(%d, %d)", family, type);
  if (family == AF_INET6) {
    int one = 1;
    PROG_CHECK(setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one) == 0, "IPV6_V6ONLY");
  }
  struct sockaddr_storage a;
  socklen_t len = loopback(family, &a);
  PROG_CHECK(bind(fd, (struct sockaddr*)&a, len) == 0, "bind to loopback (family %d)", family);
  return fd;
}

int inet_listener(int family, int backlog) {
  int fd = inet_bound(family, SOCK_STREAM);
  PROG_CHECK(listen(fd, backlog) == 0, "listen");
  return fd;
}

int inet_connect_to(int l) {
  struct sockaddr_storage a;
  socklen_t len = sizeof a;
  PROG_CHECK(getsockname(l, (struct sockaddr*)&a, &len) == 0, "getsockname");
  int fd = socket(a.ss_family, SOCK_STREAM, 0);
  PROG_CHECK(fd >= 0, "socket");
  PROG_CHECK(connect(fd, (struct sockaddr*)&a, len) == 0, "connect to the listener");
  return fd;
}

void inet_tcp_pair(int l, int* client, int* server) {
  *client = inet_connect_to(l);
  *server = accept(l, NULL, NULL);
  PROG_CHECK(*server >= 0, "accept");
}

static int port_of(const struct sockaddr_storage* a) {
  return ntohs(a->ss_family == AF_INET ? ((const struct sockaddr_in*)a)->sin_port
                                       : ((const struct sockaddr_in6*)a)->sin6_port);
}

int inet_port(int fd) {
  struct sockaddr_storage a;
  socklen_t len = sizeof a;
  PROG_CHECK(getsockname(fd, (struct sockaddr*)&a, &len) == 0, "getsockname");
  return port_of(&a);
}

int inet_peer_port(int fd) {
  struct sockaddr_storage a;
  socklen_t len = sizeof a;
  if (getpeername(fd, (struct sockaddr*)&a, &len) != 0) return 0;
  return port_of(&a);
}

void inet_send_all(int fd, const void* data, size_t len) {
  const char* p = data;
  while (len > 0) {
    ssize_t n = send(fd, p, len, MSG_NOSIGNAL);
    PROG_CHECK(n > 0, "send (%zu bytes left)", len);
    p += n;
    len -= (size_t)n;
  }
}

void inet_recv_all(int fd, void* buf, size_t len) {
  char* p = buf;
  size_t got = 0;
  while (got < len) {
    ssize_t n = recv(fd, p + got, len - got, 0);
    PROG_CHECK(n > 0, "recv after %zu of %zu bytes", got, len);
    got += (size_t)n;
  }
}

void inet_pattern(unsigned char* buf, size_t len, int seed, size_t off) {
  for (size_t i = 0; i < len; i++) {
    size_t k = off + i;
    buf[i] = (unsigned char)(k * 31 + k / 251 + (size_t)seed * 77);
  }
}

void inet_check_pattern(const unsigned char* buf, size_t len, int seed, size_t off, const char* what) {
  unsigned char want[4096];
  for (size_t done = 0; done < len;) {
    size_t n = len - done < sizeof want ? len - done : sizeof want;
    inet_pattern(want, n, seed, off + done);
    for (size_t i = 0; i < n; i++)
      PROG_CHECK(buf[done + i] == want[i], "%s: byte %zu differs", what, off + done + i);
    done += n;
  }
}
