// A SOCK_STREAM socketpair between parent and child, with data queued
// unread in both directions at dump time. After restore each side reads
// exactly what the other sent, and a new ping/pong exchange works.
#define _GNU_SOURCE
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "prog.h"

#define LEN 3000

static unsigned char byte_at(int dir, int i) { return (unsigned char)(i * 13 + i / 256 + dir * 101); }

static void send_all(int fd, const void* data, size_t len) {
  PROG_CHECK(send(fd, data, len, 0) == (ssize_t)len, "send");
}

// Receives exactly len bytes.
static void recv_all(int fd, unsigned char* buf, size_t len) {
  size_t got = 0;
  while (got < len) {
    ssize_t n = recv(fd, buf + got, len - got, 0);
    PROG_CHECK(n > 0, "recv after %zu of %zu bytes", got, len);
    got += (size_t)n;
  }
}

// Sends the LEN bytes of direction dir, in three pieces.
static void send_stream(int fd, int dir) {
  unsigned char buf[LEN];
  for (int i = 0; i < LEN; i++) buf[i] = byte_at(dir, i);
  send_all(fd, buf, 100);
  send_all(fd, buf + 100, 1900);
  send_all(fd, buf + 2000, LEN - 2000);
}

static void check_stream(int fd, int dir) {
  unsigned char buf[LEN];
  recv_all(fd, buf, LEN);
  for (int i = 0; i < LEN; i++) PROG_CHECK(buf[i] == byte_at(dir, i), "direction %d: byte %d", dir, i);
}

int main(int argc, char** argv) {
  prog_init(argc, argv);
  int sv[2];
  PROG_CHECK(socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0, "socketpair");
  send_stream(sv[0], 0);  // parent -> child
  pid_t c = prog_fork_child(0);
  if (c == 0) {
    close(sv[0]);
    send_stream(sv[1], 1);  // child -> parent
    prog_child_ready(0);
    prog_wait_go();
    check_stream(sv[1], 0);
    send_all(sv[1], "ping", 4);
    unsigned char buf[4];
    recv_all(sv[1], buf, 4);
    PROG_CHECK(memcmp(buf, "pong", 4) == 0, "child: no pong");
    prog_pass();
  }
  close(sv[1]);
  prog_wait_children_ready(1);
  prog_ready();
  prog_wait_go();
  check_stream(sv[0], 1);
  unsigned char buf[4];
  recv_all(sv[0], buf, 4);
  PROG_CHECK(memcmp(buf, "ping", 4) == 0, "parent: no ping");
  send_all(sv[0], "pong", 4);
  prog_check_child(c, 0);
  PROG_CHECK(recv(sv[0], buf, 4, 0) == 0, "no EOF after the child exited");
  prog_pass();
}
