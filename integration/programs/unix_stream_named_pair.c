// A connection through a named listener: the root listens on a path in the
// prog dir, a child connects, the root accepts. At dump time data is in
// flight both ways, unread (client -> server 2000 bytes, server -> client
// 1500 bytes, each sent in pieces). After restore:
//   - each end reads exactly the other's bytes, in order;
//   - getpeername() of the client still names the server's path, and
//     getsockname() of the accepted socket and of the listener name it too;
//     the client itself stays unnamed;
//   - a ping/pong goes both ways; the listener still accepts a new client.
#define _GNU_SOURCE
#include <poll.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "prog.h"

#define TO_SERVER 2000
#define TO_CLIENT 1500

static struct sockaddr_un srv;
static socklen_t srv_len;

static unsigned char byte_at(int dir, int i) { return (unsigned char)(i * 29 + dir * 83 + i / 251); }

static void send_all(int fd, const void* buf, size_t len) {
  PROG_CHECK(send(fd, buf, len, MSG_NOSIGNAL) == (ssize_t)len, "send %zu bytes", len);
}

static void recv_all(int fd, unsigned char* buf, size_t len, const char* what) {
  size_t got = 0;
  while (got < len) {
    ssize_t n = recv(fd, buf + got, len - got, 0);
    PROG_CHECK(n > 0, "%s: recv after %zu of %zu bytes", what, got, len);
    got += (size_t)n;
  }
}

static void send_stream(int fd, int dir, int len) {
  unsigned char buf[TO_SERVER];
  for (int i = 0; i < len; i++) buf[i] = byte_at(dir, i);
  send_all(fd, buf, 300);
  send_all(fd, buf + 300, 700);
  send_all(fd, buf + 1000, (size_t)len - 1000);
}

static void check_stream(int fd, int dir, int len, const char* what) {
  unsigned char buf[TO_SERVER];
  recv_all(fd, buf, (size_t)len, what);
  for (int i = 0; i < len; i++) PROG_CHECK(buf[i] == byte_at(dir, i), "%s: byte %d", what, i);
}

// Checks fd's own name (peer: its peer's); want_named false: unnamed.
static void check_name(int fd, bool peer, bool want_named, const char* what) {
  struct sockaddr_un got;
  socklen_t len = sizeof got;
  memset(&got, 0, sizeof got);
  int r = peer ? getpeername(fd, (struct sockaddr*)&got, &len) : getsockname(fd, (struct sockaddr*)&got, &len);
  PROG_CHECK(r == 0, "%s: get%sname", what, peer ? "peer" : "sock");
  bool named = len > offsetof(struct sockaddr_un, sun_path);
  if (!want_named) {
    PROG_CHECK(!named, "%s: named '%s%s', want unnamed", what, got.sun_path[0] ? "" : "@",
               got.sun_path + !got.sun_path[0]);
    return;
  }
  PROG_CHECK(len == srv_len && memcmp(&got, &srv, srv_len) == 0, "%s: name is '%s%s' (length %u), want '%s'", what,
             !named ? "(unnamed)" : got.sun_path[0] ? "" : "@", named ? got.sun_path + !got.sun_path[0] : "",
             (unsigned)len, srv.sun_path);
}

static int connect_client(void) {
  int k = socket(AF_UNIX, SOCK_STREAM, 0);
  PROG_CHECK(k >= 0 && connect(k, (struct sockaddr*)&srv, srv_len) == 0, "connect");
  return k;
}

int main(int argc, char** argv) {
  prog_init(argc, argv);
  srv.sun_family = AF_UNIX;
  int n = snprintf(srv.sun_path, sizeof srv.sun_path, "%s/named.sock", getenv("CRYO_PROG_DIR"));
  PROG_CHECK(n > 0 && (size_t)n < sizeof srv.sun_path, "socket path too long");
  srv_len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + (size_t)n + 1);
  int l = socket(AF_UNIX, SOCK_STREAM, 0);
  PROG_CHECK(l >= 0 && bind(l, (struct sockaddr*)&srv, srv_len) == 0 && listen(l, 4) == 0, "listen");
  pid_t c = prog_fork_child(0);
  if (c == 0) {
    close(l);
    int k = connect_client();
    send_stream(k, 0, TO_SERVER);
    prog_child_ready(0);
    prog_wait_go();
    check_name(k, true, true, "client: peer");
    check_name(k, false, false, "client");
    check_stream(k, 1, TO_CLIENT, "client");
    send_all(k, "ping", 4);
    unsigned char buf[4];
    recv_all(k, buf, 4, "client: pong");
    PROG_CHECK(memcmp(buf, "pong", 4) == 0, "client: no pong");
    prog_pass();
  }
  int a = accept(l, NULL, NULL);
  PROG_CHECK(a >= 0, "accept");
  send_stream(a, 1, TO_CLIENT);
  prog_wait_children_ready(1);
  prog_ready();
  prog_wait_go();

  check_name(l, false, true, "listener");
  check_name(a, false, true, "accepted socket");
  check_name(a, true, false, "accepted socket: peer");
  check_stream(a, 0, TO_SERVER, "server");
  unsigned char buf[4];
  recv_all(a, buf, 4, "server: ping");
  PROG_CHECK(memcmp(buf, "ping", 4) == 0, "server: no ping");
  send_all(a, "pong", 4);
  prog_check_child(c, 0);
  PROG_CHECK(recv(a, buf, 1, 0) == 0, "no EOF after the client exited");

  int k = connect_client();
  struct pollfd p = {.fd = l, .events = POLLIN};
  PROG_CHECK(poll(&p, 1, 5000) == 1, "the listener sees no new connection");
  int a2 = accept(l, NULL, NULL);
  PROG_CHECK(a2 >= 0, "accept a new client");
  send_all(k, "new", 3);
  recv_all(a2, buf, 3, "new connection");
  PROG_CHECK(memcmp(buf, "new", 3) == 0, "new connection: wrong bytes");
  prog_pass();
}
