// TCP connections reset by the peer before their last bytes were read:
// the server's end (its port held, shared with the listener) and a
// client's end (its port let go when it closed). After restore both are
// closed, the unread bytes come first, then no more data, and writing
// fails. (The one ECONNRESET a read would report after the bytes comes
// back as a plain end of stream.)
#define _GNU_SOURCE
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
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

// Closes `fd` with a reset.
static void reset(int fd) {
  struct linger lg = {1, 0};
  PROG_CHECK(setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg) == 0 && close(fd) == 0, "reset");
}

static void check(int fd, const char* bytes, const char* what) {
  char buf[32];
  size_t n = strlen(bytes);
  PROG_CHECK(state(fd) == TCP_CLOSE, "%s: state %d", what, state(fd));
  PROG_CHECK(recv(fd, buf, sizeof buf, MSG_DONTWAIT) == (ssize_t)n && memcmp(buf, bytes, n) == 0,
             "%s: the unread bytes", what);
  PROG_CHECK(recv(fd, buf, sizeof buf, MSG_DONTWAIT) <= 0, "%s: more data", what);
  PROG_CHECK(send(fd, "x", 1, MSG_DONTWAIT) == -1, "%s: send worked", what);
}

int main(int argc, char** argv) {
  prog_init(argc, argv);
  signal(SIGPIPE, SIG_IGN);
  int l = inet_listener(AF_INET, 4);
  int c1, s1, c2, s2;
  inet_tcp_pair(l, &c1, &s1);
  inet_tcp_pair(l, &c2, &s2);
  inet_send_all(c1, "to the server", 13);
  inet_send_all(s2, "to the client", 13);
  usleep(50000);
  reset(c1);
  reset(s2);
  for (int i = 0; i < 100 && (state(s1) != TCP_CLOSE || state(c2) != TCP_CLOSE); i++) usleep(10000);
  PROG_CHECK(state(s1) == TCP_CLOSE && state(c2) == TCP_CLOSE, "not reset: %d %d", state(s1), state(c2));
  prog_ready();
  prog_wait_go();
  check(s1, "to the server", "server");
  check(c2, "to the client", "client");
  int c3, s3;
  inet_tcp_pair(l, &c3, &s3);
  prog_pass();
}
