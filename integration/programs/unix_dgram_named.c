// A SOCK_DGRAM server socket in the root, bound to a path in the prog dir,
// and an unbound client socket in a child, connect()ed to it. The client
// sent 3 datagrams (17, 1000 and 3000 bytes) that the server has not read
// at dump time. After restore:
//   - the server keeps its name; the client's peer is still that name;
//   - the server reads exactly the 3 datagrams, in order, each whole with
//     its own length and bytes, from an unnamed sender, then nothing more;
//   - the client, still connected, sends one more with send() (no
//     address), and the server reads it.
#define _GNU_SOURCE
#include <errno.h>
#include <poll.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "prog.h"

static const int kLens[4] = {17, 1000, 3000, 250};  // the 4th is sent after go

static struct sockaddr_un srv;
static socklen_t srv_len;

static unsigned char byte_at(int k, int i) { return (unsigned char)(i * 7 + k * 61 + i / 199); }

static void send_dgram(int fd, int k) {
  unsigned char buf[4096];
  for (int i = 0; i < kLens[k]; i++) buf[i] = byte_at(k, i);
  PROG_CHECK(send(fd, buf, (size_t)kLens[k], 0) == kLens[k], "client: send datagram %d", k);
}

// Reads datagram k; the buffer is larger than any, so a merged or cut
// datagram shows as a wrong length.
static void recv_dgram(int fd, int k) {
  unsigned char buf[8192];
  struct pollfd p = {.fd = fd, .events = POLLIN};
  PROG_CHECK(poll(&p, 1, 5000) == 1, "datagram %d never came", k);
  struct sockaddr_un from;
  socklen_t flen = sizeof from;
  ssize_t n = recvfrom(fd, buf, sizeof buf, MSG_DONTWAIT, (struct sockaddr*)&from, &flen);
  PROG_CHECK(n >= 0, "recv datagram %d", k);
  PROG_CHECK(n == kLens[k], "datagram %d has %zd bytes, want %d", k, n, kLens[k]);
  for (int i = 0; i < n; i++) PROG_CHECK(buf[i] == byte_at(k, i), "datagram %d: byte %d", k, i);
  PROG_CHECK(flen <= sizeof(sa_family_t), "datagram %d comes from a named sender '%s', the client is unnamed", k,
             from.sun_path);
}

static void check_name(int fd, bool peer, const char* what) {
  struct sockaddr_un got;
  socklen_t len = sizeof got;
  memset(&got, 0, sizeof got);
  int r = peer ? getpeername(fd, (struct sockaddr*)&got, &len) : getsockname(fd, (struct sockaddr*)&got, &len);
  PROG_CHECK(r == 0, "%s: get%sname", what, peer ? "peer" : "sock");
  PROG_CHECK(len == srv_len && memcmp(&got, &srv, srv_len) == 0, "%s: name is '%s' (length %u), want '%s'", what,
             len > offsetof(struct sockaddr_un, sun_path) ? got.sun_path : "(unnamed)", (unsigned)len, srv.sun_path);
}

int main(int argc, char** argv) {
  prog_init(argc, argv);
  srv.sun_family = AF_UNIX;
  int n = snprintf(srv.sun_path, sizeof srv.sun_path, "%s/dgram.sock", getenv("CRYO_PROG_DIR"));
  PROG_CHECK(n > 0 && (size_t)n < sizeof srv.sun_path, "socket path too long");
  srv_len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + (size_t)n + 1);
  int s = socket(AF_UNIX, SOCK_DGRAM, 0);
  PROG_CHECK(s >= 0 && bind(s, (struct sockaddr*)&srv, srv_len) == 0, "server: bind");
  pid_t c = prog_fork_child(0);
  if (c == 0) {
    close(s);
    int k = socket(AF_UNIX, SOCK_DGRAM, 0);
    PROG_CHECK(k >= 0 && connect(k, (struct sockaddr*)&srv, srv_len) == 0, "client: connect");
    for (int i = 0; i < 3; i++) send_dgram(k, i);
    prog_child_ready(0);
    prog_wait_go();
    check_name(k, true, "client: peer");
    prog_wait_mark("read-three");
    send_dgram(k, 3);
    prog_pass();
  }
  prog_wait_children_ready(1);
  prog_ready();
  prog_wait_go();
  check_name(s, false, "server");
  for (int i = 0; i < 3; i++) recv_dgram(s, i);
  char b;
  PROG_CHECK(recv(s, &b, 1, MSG_DONTWAIT) < 0 && errno == EAGAIN, "a 4th datagram was queued at dump time");
  prog_mark("read-three");
  recv_dgram(s, 3);
  prog_check_child(c, 0);
  prog_pass();
}
