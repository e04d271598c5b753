// Unix sockets and the files they are bound to, in the prog dir:
//   R: a SOCK_STREAM listener bound to the relative name "rel/r.sock"
//      (counting the NUL that ends it) while the cwd was the prog dir; the
//      task then moved to "elsewhere", where "rel/r.sock" leads nowhere;
//   P: a SOCK_DGRAM socket bound to "p.sock", its file then chmod 0640;
//   G: a SOCK_DGRAM socket bound to "g.sock", with a client C connected
//      to it, then its file unlinked and a FIFO made at that path; C sent
//      G 2 datagrams (9 and 700 bytes) before the dump;
//   L: a SOCK_STREAM listener bound to "l.sock", a client K connected and
//      accepted as A, then the file unlinked; K sent A 5 bytes, A sent K
//      7 bytes.
// After restore:
//   - the cwd is still "elsewhere"; R's name is "rel/r.sock" with its NUL;
//     R still listens: a client connecting from the prog dir gets through;
//   - P's file has mode 0640 and is still P's (a send to the path arrives);
//   - "g.sock" is the FIFO again, no socket file anywhere; G reads the 2
//     datagrams; C is still connected to G (a send() without address
//     arrives at G);
//   - "l.sock" does not exist; A's name is still "l.sock" (an accepted
//     socket reports its listener's); A and K read what the other sent.
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "prog.h"

static const char kRel[] = "rel/r.sock";

static socklen_t addr_of(struct sockaddr_un* a, const char* path, bool with_nul) {
  memset(a, 0, sizeof *a);
  a->sun_family = AF_UNIX;
  snprintf(a->sun_path, sizeof a->sun_path, "%s", path);
  return (socklen_t)(offsetof(struct sockaddr_un, sun_path) + strlen(path) + (with_nul ? 1 : 0));
}

static int bound(int type, const char* path, bool with_nul) {
  int fd = socket(AF_UNIX, type | SOCK_CLOEXEC, 0);
  PROG_CHECK(fd >= 0, "socket");
  struct sockaddr_un a;
  socklen_t len = addr_of(&a, path, with_nul);
  PROG_CHECK(bind(fd, (struct sockaddr*)&a, len) == 0, "bind %s", path);
  return fd;
}

static void recv_len(int fd, size_t want, const char* what) {
  char buf[4096];
  struct pollfd p = {.fd = fd, .events = POLLIN};
  PROG_CHECK(poll(&p, 1, 5000) == 1, "%s: nothing came", what);
  ssize_t n = recv(fd, buf, sizeof buf, MSG_DONTWAIT);
  PROG_CHECK(n == (ssize_t)want, "%s: %zd bytes, want %zu", what, n, want);
  for (size_t i = 0; i < want; i++) PROG_CHECK(buf[i] == (char)(i * 3 + want), "%s: byte %zu", what, i);
}

static void send_len(int fd, size_t len, const char* what) {
  char buf[4096];
  for (size_t i = 0; i < len; i++) buf[i] = (char)(i * 3 + len);
  PROG_CHECK(send(fd, buf, len, MSG_DONTWAIT) == (ssize_t)len, "%s: send", what);
}

int main(int argc, char** argv) {
  prog_init(argc, argv);
  const char* dir = getenv("CRYO_PROG_DIR");
  PROG_CHECK(chdir(dir) == 0, "chdir %s", dir);
  PROG_CHECK(mkdir("rel", 0755) == 0 && mkdir("elsewhere", 0755) == 0, "mkdir");
  int r = bound(SOCK_STREAM, kRel, true);
  PROG_CHECK(listen(r, 4) == 0, "listen");
  int p = bound(SOCK_DGRAM, "p.sock", false);
  PROG_CHECK(chmod("p.sock", 0640) == 0, "chmod");
  int g = bound(SOCK_DGRAM, "g.sock", false);
  int c = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  struct sockaddr_un ga;
  socklen_t glen = addr_of(&ga, "g.sock", false);
  PROG_CHECK(connect(c, (struct sockaddr*)&ga, glen) == 0, "connect to g.sock");
  send_len(c, 9, "c to g, before");
  send_len(c, 700, "c to g, before");
  PROG_CHECK(unlink("g.sock") == 0 && mkfifo("g.sock", 0600) == 0, "g.sock: unlink and mkfifo");
  int l = bound(SOCK_STREAM, "l.sock", false);
  PROG_CHECK(listen(l, 4) == 0, "listen on l.sock");
  int k = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  struct sockaddr_un la;
  socklen_t llen = addr_of(&la, "l.sock", false);
  PROG_CHECK(connect(k, (struct sockaddr*)&la, llen) == 0, "connect to l.sock");
  int acc_l = accept4(l, NULL, NULL, SOCK_CLOEXEC);
  PROG_CHECK(acc_l >= 0, "accept from l.sock");
  PROG_CHECK(unlink("l.sock") == 0, "unlink l.sock");
  send_len(k, 5, "k to a");
  send_len(acc_l, 7, "a to k");
  PROG_CHECK(chdir("elsewhere") == 0, "chdir elsewhere");
  prog_ready();
  prog_wait_go();

  char cwd[4096];
  PROG_CHECK(getcwd(cwd, sizeof cwd) != NULL, "getcwd");
  PROG_CHECK(strlen(cwd) > 10 && strcmp(cwd + strlen(cwd) - 10, "/elsewhere") == 0, "cwd is %s", cwd);
  struct sockaddr_un got;
  socklen_t len = sizeof got;
  PROG_CHECK(getsockname(r, (struct sockaddr*)&got, &len) == 0, "getsockname");
  PROG_CHECK(len == offsetof(struct sockaddr_un, sun_path) + sizeof kRel && memcmp(got.sun_path, kRel, sizeof kRel) == 0,
             "R is named '%.*s' (%u bytes)", (int)(len - offsetof(struct sockaddr_un, sun_path)), got.sun_path,
             (unsigned)len);
  PROG_CHECK(chdir(dir) == 0, "chdir back");
  int rc = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  struct sockaddr_un ra;
  socklen_t rlen = addr_of(&ra, kRel, false);
  PROG_CHECK(connect(rc, (struct sockaddr*)&ra, rlen) == 0, "connect to R by its path");
  int acc = accept4(r, NULL, NULL, SOCK_NONBLOCK);
  PROG_CHECK(acc >= 0, "R accepts");

  struct stat st;
  PROG_CHECK(stat("p.sock", &st) == 0 && S_ISSOCK(st.st_mode), "p.sock is not a socket");
  PROG_CHECK((st.st_mode & 07777) == 0640, "p.sock has mode %o, want 640", st.st_mode & 07777);
  int pc = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  struct sockaddr_un pa;
  socklen_t plen = addr_of(&pa, "p.sock", false);
  PROG_CHECK(connect(pc, (struct sockaddr*)&pa, plen) == 0, "connect to p.sock");
  send_len(pc, 33, "to p");
  recv_len(p, 33, "p");

  PROG_CHECK(lstat("g.sock", &st) == 0 && S_ISFIFO(st.st_mode), "g.sock is no longer the FIFO");
  PROG_CHECK(access("g.sock.cryo-sk-ghost", F_OK) != 0, "a file was left next to g.sock");
  recv_len(g, 9, "g, first");
  recv_len(g, 700, "g, second");
  send_len(c, 55, "c to g, after");
  recv_len(g, 55, "g, after");

  PROG_CHECK(lstat("l.sock", &st) != 0, "l.sock is back");
  len = sizeof got;
  PROG_CHECK(getsockname(acc_l, (struct sockaddr*)&got, &len) == 0, "getsockname A");
  PROG_CHECK(len == llen + 1 && strcmp(got.sun_path, "l.sock") == 0, "A is named '%s', want l.sock", got.sun_path);
  recv_len(acc_l, 5, "a");
  recv_len(k, 7, "k");
  prog_pass();
}
