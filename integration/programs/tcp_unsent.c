// A TCP connection whose sender wrote until its send queue was full: the
// receiver (a small receive buffer, not reading) has taken part of it,
// part sits in the sender's queue unacknowledged or never sent. After
// restore the receiver reads every byte, in order, exactly once.
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

#include "inet.h"
#include "prog.h"

int main(int argc, char** argv) {
  prog_init(argc, argv);
  int l = inet_bound(AF_INET, SOCK_STREAM);
  int small = 4096;
  PROG_CHECK(setsockopt(l, SOL_SOCKET, SO_RCVBUF, &small, sizeof small) == 0, "SO_RCVBUF");
  PROG_CHECK(listen(l, 1) == 0, "listen");
  int c, s;
  inet_tcp_pair(l, &c, &s);
  PROG_CHECK(fcntl(c, F_SETFL, O_NONBLOCK) == 0, "O_NONBLOCK");
  unsigned char buf[4096];
  size_t total = 0;
  for (int idle = 0; idle < 20;) {
    inet_pattern(buf, sizeof buf, 5, total);
    ssize_t n = send(c, buf, sizeof buf, MSG_NOSIGNAL);
    if (n > 0) {
      total += (size_t)n;
      idle = 0;
      continue;
    }
    PROG_CHECK(errno == EAGAIN, "send");
    idle++;
    usleep(5000);
  }
  PROG_CHECK(total > 8192, "only %zu bytes went", total);
  prog_ready();
  prog_wait_go();
  PROG_CHECK((fcntl(c, F_GETFL) & O_NONBLOCK) != 0, "the sender lost O_NONBLOCK");
  PROG_CHECK(fcntl(c, F_SETFL, 0) == 0, "blocking");
  unsigned char* got = malloc(total);
  PROG_CHECK(got != NULL, "malloc");
  inet_recv_all(s, got, total);
  inet_check_pattern(got, total, 5, 0, "the stream");
  inet_pattern(buf, 100, 5, total);
  inet_send_all(c, buf, 100);
  inet_recv_all(s, got, 100);
  inet_check_pattern(got, 100, 5, total, "after restore");
  prog_pass();
}
