// Half-closed TCP connections over loopback: on one the client has sent
// its last bytes and shut its side (FIN_WAIT2, the server in CLOSE_WAIT
// with the bytes and the FIN unread); on the other the server has.
// After restore every end is in the state it was, the unread bytes come
// first and then EOF, the open directions still carry data, and closing
// them ends the connections.
#define _GNU_SOURCE
#include <netinet/in.h>
#include <netinet/tcp.h>
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

static void expect_tail_then_eof(int fd, const char* tail, const char* what) {
  char buf[64];
  size_t n = strlen(tail);
  inet_recv_all(fd, buf, n);
  PROG_CHECK(memcmp(buf, tail, n) == 0, "%s: the last bytes differ", what);
  PROG_CHECK(recv(fd, buf, sizeof buf, 0) == 0, "%s: no EOF after the last bytes", what);
}

int main(int argc, char** argv) {
  prog_init(argc, argv);
  int l = inet_listener(AF_INET, 4);
  int ac, as, bc, bs;
  inet_tcp_pair(l, &ac, &as);
  inet_tcp_pair(l, &bc, &bs);
  inet_send_all(ac, "client's last words", 19);
  PROG_CHECK(shutdown(ac, SHUT_WR) == 0, "shutdown a");
  inet_send_all(bc, "to the server", 13);
  inet_send_all(bs, "server's last words", 19);
  PROG_CHECK(shutdown(bs, SHUT_WR) == 0, "shutdown b");
  usleep(100000);
  int sa = state(ac), ss = state(as), sb = state(bc), sbs = state(bs);
  PROG_CHECK(sa == TCP_FIN_WAIT2 && ss == TCP_CLOSE_WAIT, "a: states %d %d", sa, ss);
  PROG_CHECK(sb == TCP_CLOSE_WAIT && sbs == TCP_FIN_WAIT2, "b: states %d %d", sb, sbs);
  prog_ready();
  prog_wait_go();
  PROG_CHECK(state(ac) == sa && state(as) == ss && state(bc) == sb && state(bs) == sbs,
             "states now %d %d %d %d, were %d %d %d %d", state(ac), state(as), state(bc), state(bs), sa, ss, sb, sbs);
  expect_tail_then_eof(as, "client's last words", "a server");
  expect_tail_then_eof(bc, "server's last words", "b client");
  // The open directions.
  inet_send_all(as, "answer", 6);
  char buf[16];
  inet_recv_all(ac, buf, 6);
  PROG_CHECK(memcmp(buf, "answer", 6) == 0, "a: server to client");
  char got[13];
  inet_recv_all(bs, got, 13);
  PROG_CHECK(memcmp(got, "to the server", 13) == 0, "b: the unread bytes to the server");
  inet_send_all(bc, "more", 4);
  inet_recv_all(bs, buf, 4);
  PROG_CHECK(memcmp(buf, "more", 4) == 0, "b: client to server");
  close(as);
  close(bc);
  PROG_CHECK(recv(ac, buf, sizeof buf, 0) == 0, "a: no EOF for the client");
  PROG_CHECK(recv(bs, buf, sizeof buf, 0) == 0, "b: no EOF for the server");
  prog_pass();
}
