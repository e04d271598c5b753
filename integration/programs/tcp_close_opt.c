// --tcp-close: an established connection over loopback is not kept: the
// dump takes it as it is, and the restore makes both its ends closed
// sockets (EOF, POLLHUP, EPIPE) while the listener it came from listens
// on and takes a new connection. (Not dumped, the program sees its
// connection as it was: a restore is told by the process's start time.)
#define _GNU_SOURCE
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "inet.h"
#include "prog.h"

static int state(int fd) {
  struct tcp_info ti;
  socklen_t len = sizeof ti;
  PROG_CHECK(getsockopt(fd, SOL_TCP, TCP_INFO, &ti, &len) == 0, "TCP_INFO");
  return ti.tcpi_state;
}

static unsigned long long start_time(void) {
  char buf[1024];
  FILE* f = fopen("/proc/self/stat", "r");
  PROG_CHECK(f && fgets(buf, sizeof buf, f), "read /proc/self/stat");
  fclose(f);
  const char* p = strrchr(buf, ')');
  unsigned long long t = 0;
  // Field 22, the 20th after the command.
  for (int field = 2; p && field < 22; field++) p = strchr(p + 1, ' ');
  PROG_CHECK(p && sscanf(p + 1, "%llu", &t) == 1, "start time");
  return t;
}

static void check_closed(int fd, const char* what) {
  char c;
  PROG_CHECK(state(fd) == TCP_CLOSE, "%s: state %d", what, state(fd));
  PROG_CHECK(recv(fd, &c, 1, MSG_DONTWAIT) == 0, "%s: no EOF", what);
  struct pollfd p = {.fd = fd, .events = POLLIN};
  PROG_CHECK(poll(&p, 1, 0) == 1 && (p.revents & POLLHUP), "%s: no POLLHUP (%#x)", what, p.revents);
  PROG_CHECK(send(fd, "x", 1, MSG_DONTWAIT) == -1 && errno == EPIPE, "%s: send did not fail with EPIPE", what);
}

int main(int argc, char** argv) {
  prog_init(argc, argv);
  signal(SIGPIPE, SIG_IGN);
  int l = inet_listener(AF_INET, 4);
  int port = inet_port(l);
  int c, s;
  inet_tcp_pair(l, &c, &s);
  inet_send_all(c, "unread", 6);
  unsigned long long started = start_time();
  prog_ready();
  prog_wait_go();
  if (start_time() == started) {
    char buf[6];
    inet_recv_all(s, buf, 6);
    PROG_CHECK(memcmp(buf, "unread", 6) == 0, "not restored: the data differs");
    prog_pass();
  }
  check_closed(c, "client");
  check_closed(s, "server");
  PROG_CHECK(inet_port(l) == port, "the listener moved");
  int c2, s2;
  inet_tcp_pair(l, &c2, &s2);
  inet_send_all(c2, "hi", 2);
  char buf[2];
  inet_recv_all(s2, buf, 2);
  prog_pass();
}
