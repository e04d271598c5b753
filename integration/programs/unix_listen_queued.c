// Two SOCK_STREAM listening sockets in the root, one bound to a path in
// the prog dir and one to the abstract name "\0cryo-test-<pid>", each
// with a connection from a child that is NOT accepted at dump time (the
// client sent nothing). After restore:
//   - both listeners keep their names (getsockname) and SO_ACCEPTCONN;
//   - each has exactly one pending connection: accept() gets it, and the
//     accepted socket names the listener's address;
//   - the client, whose peer name is the listener's address, and the
//     server exchange data both ways on each connection;
//   - a new connection to each name is queued by the backlog and accepted.
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

static struct sockaddr_un path_addr, abs_addr;
static socklen_t path_len, abs_len;

static void make_addrs(pid_t root) {
  const char* dir = getenv("CRYO_PROG_DIR");
  path_addr.sun_family = AF_UNIX;
  int n = snprintf(path_addr.sun_path, sizeof path_addr.sun_path, "%s/listen.sock", dir);
  PROG_CHECK(n > 0 && (size_t)n < sizeof path_addr.sun_path, "socket path too long");
  path_len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + (size_t)n + 1);
  abs_addr.sun_family = AF_UNIX;
  n = snprintf(abs_addr.sun_path + 1, sizeof abs_addr.sun_path - 1, "cryo-test-%d", root);
  abs_len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 + (size_t)n);
}

// addr as text: the path, or "@name" for an abstract name.
static void addr_text(const struct sockaddr_un* a, socklen_t len, char* out, size_t size) {
  size_t n = len > offsetof(struct sockaddr_un, sun_path) ? len - offsetof(struct sockaddr_un, sun_path) : 0;
  if (n == 0)
    snprintf(out, size, "(unnamed)");
  else if (a->sun_path[0] == 0)
    snprintf(out, size, "@%.*s", (int)(n - 1), a->sun_path + 1);
  else
    snprintf(out, size, "%.*s", (int)n, a->sun_path);
}

// Checks that fd's own name (peer: its peer's name) is want.
static void check_name(int fd, bool peer, const struct sockaddr_un* want, socklen_t want_len, const char* what) {
  struct sockaddr_un got;
  socklen_t len = sizeof got;
  memset(&got, 0, sizeof got);
  int r = peer ? getpeername(fd, (struct sockaddr*)&got, &len) : getsockname(fd, (struct sockaddr*)&got, &len);
  PROG_CHECK(r == 0, "%s: get%sname", what, peer ? "peer" : "sock");
  if (len == want_len && memcmp(&got, want, want_len) == 0) return;
  char g[128], w[128];
  addr_text(&got, len, g, sizeof g);
  addr_text(want, want_len, w, sizeof w);
  prog_fail("%s: name is '%s' (length %u), want '%s' (length %u)", what, g, (unsigned)len, w, (unsigned)want_len);
}

static int listener(const struct sockaddr_un* a, socklen_t len) {
  int s = socket(AF_UNIX, SOCK_STREAM, 0);
  PROG_CHECK(s >= 0, "socket");
  PROG_CHECK(bind(s, (const struct sockaddr*)a, len) == 0, "bind");
  PROG_CHECK(listen(s, 4) == 0, "listen");
  return s;
}

static int client(const struct sockaddr_un* a, socklen_t len) {
  int s = socket(AF_UNIX, SOCK_STREAM, 0);
  PROG_CHECK(s >= 0, "socket");
  PROG_CHECK(connect(s, (const struct sockaddr*)a, len) == 0, "connect");
  return s;
}

static int pending(int l) {
  struct pollfd p = {.fd = l, .events = POLLIN};
  return poll(&p, 1, 0);
}

static void send_str(int fd, const char* s) {
  PROG_CHECK(send(fd, s, strlen(s), MSG_NOSIGNAL) == (ssize_t)strlen(s), "send '%s'", s);
}

static void recv_str(int fd, const char* want) {
  char buf[128];
  size_t len = strlen(want), got = 0;
  while (got < len) {
    ssize_t n = recv(fd, buf + got, len - got, 0);
    PROG_CHECK(n > 0, "recv '%s': got %zu bytes", want, got);
    got += (size_t)n;
  }
  PROG_CHECK(memcmp(buf, want, len) == 0, "recv '%.*s', want '%s'", (int)len, buf, want);
}

// Accepts the one pending connection of l, named want.
static int accept_one(int l, const struct sockaddr_un* want, socklen_t want_len, const char* what) {
  struct pollfd p = {.fd = l, .events = POLLIN};
  PROG_CHECK(poll(&p, 1, 5000) == 1, "%s: no pending connection", what);
  int a = accept(l, NULL, NULL);
  PROG_CHECK(a >= 0, "%s: accept", what);
  PROG_CHECK(pending(l) == 0, "%s: a second connection is pending", what);
  check_name(a, false, want, want_len, what);
  return a;
}

int main(int argc, char** argv) {
  prog_init(argc, argv);
  make_addrs(getpid());
  int lp = listener(&path_addr, path_len), la = listener(&abs_addr, abs_len);
  pid_t c = prog_fork_child(0);
  if (c == 0) {
    close(lp), close(la);
    int cp = client(&path_addr, path_len), ca = client(&abs_addr, abs_len);
    prog_child_ready(0);
    prog_wait_go();
    check_name(cp, true, &path_addr, path_len, "client of the path listener: peer");
    check_name(ca, true, &abs_addr, abs_len, "client of the abstract listener: peer");
    send_str(cp, "client->path");
    send_str(ca, "client->abstract");
    recv_str(cp, "path->client");
    recv_str(ca, "abstract->client");
    prog_pass();
  }
  prog_wait_children_ready(1);
  PROG_CHECK(pending(lp) == 1 && pending(la) == 1, "connections not pending before the dump");
  prog_ready();
  prog_wait_go();

  check_name(lp, false, &path_addr, path_len, "path listener");
  check_name(la, false, &abs_addr, abs_len, "abstract listener");
  int on = 0;
  socklen_t ol = sizeof on;
  PROG_CHECK(getsockopt(lp, SOL_SOCKET, SO_ACCEPTCONN, &on, &ol) == 0 && on == 1, "path listener is not listening");
  on = 0;
  PROG_CHECK(getsockopt(la, SOL_SOCKET, SO_ACCEPTCONN, &on, &ol) == 0 && on == 1, "abstract listener is not listening");
  int ap = accept_one(lp, &path_addr, path_len, "path listener");
  int aa = accept_one(la, &abs_addr, abs_len, "abstract listener");
  recv_str(ap, "client->path");
  recv_str(aa, "client->abstract");
  send_str(ap, "path->client");
  send_str(aa, "abstract->client");
  prog_check_child(c, 0);
  char b;
  PROG_CHECK(recv(ap, &b, 1, 0) == 0 && recv(aa, &b, 1, 0) == 0, "no EOF after the client exited");

  // New connections: queued by the backlog, then accepted.
  int np = client(&path_addr, path_len), na = client(&abs_addr, abs_len);
  int ap2 = accept_one(lp, &path_addr, path_len, "path listener, new connection");
  int aa2 = accept_one(la, &abs_addr, abs_len, "abstract listener, new connection");
  send_str(np, "new-path");
  send_str(na, "new-abstract");
  recv_str(ap2, "new-path");
  recv_str(aa2, "new-abstract");
  prog_pass();
}
