// A SOCK_DGRAM socketpair with five datagrams of different sizes queued
// one way and two the other way. After restore each arrives whole, in
// order, with its own size and contents (boundaries kept), then nothing
// more; new datagrams still go through.
#define _GNU_SOURCE
#include <errno.h>
#include <sys/socket.h>
#include <unistd.h>

#include "prog.h"

#define TYPE SOCK_DGRAM
static const int sizes[] = {1, 100, 1500, 9000, 40000};
static const int back_sizes[] = {7, 333};
#define NSIZES (int)(sizeof sizes / sizeof sizes[0])
#define NBACK (int)(sizeof back_sizes / sizeof back_sizes[0])

static unsigned char buf[64 * 1024];

static unsigned char byte_at(int msg, int i) { return (unsigned char)(msg * 37 + i * 11 + i / 200); }

static void send_msg(int fd, int msg, int size) {
  for (int i = 0; i < size; i++) buf[i] = byte_at(msg, i);
  PROG_CHECK(send(fd, buf, (size_t)size, 0) == size, "send message %d", msg);
}

static void recv_msg(int fd, int msg, int size) {
  ssize_t n = recv(fd, buf, sizeof buf, MSG_DONTWAIT | MSG_TRUNC);
  PROG_CHECK(n == size, "message %d: %zd bytes, want %d", msg, n, size);
  for (int i = 0; i < size; i++) PROG_CHECK(buf[i] == byte_at(msg, i), "message %d: byte %d", msg, i);
}

static void check_empty(int fd) {
  PROG_CHECK(recv(fd, buf, sizeof buf, MSG_DONTWAIT) < 0 && errno == EAGAIN, "more messages than sent");
}

int main(int argc, char** argv) {
  prog_init(argc, argv);
  int sv[2];
  PROG_CHECK(socketpair(AF_UNIX, TYPE, 0, sv) == 0, "socketpair");
  for (int m = 0; m < NSIZES; m++) send_msg(sv[0], m, sizes[m]);
  for (int m = 0; m < NBACK; m++) send_msg(sv[1], 10 + m, back_sizes[m]);
  prog_ready();
  prog_wait_go();
  int type = 0;
  socklen_t len = sizeof type;
  PROG_CHECK(getsockopt(sv[0], SOL_SOCKET, SO_TYPE, &type, &len) == 0 && type == TYPE, "socket type %d", type);
  for (int m = 0; m < NSIZES; m++) recv_msg(sv[1], m, sizes[m]);
  check_empty(sv[1]);
  for (int m = 0; m < NBACK; m++) recv_msg(sv[0], 10 + m, back_sizes[m]);
  check_empty(sv[0]);
  send_msg(sv[0], 20, 50);
  send_msg(sv[1], 21, 60);
  recv_msg(sv[1], 20, 50);
  recv_msg(sv[0], 21, 60);
  prog_pass();
}
