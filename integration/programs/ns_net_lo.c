// A tree in a network namespace of its own holding only lo, up: the root
// listens on an abstract unix socket (abstract names belong to a network
// namespace) and a child holds a connection to it. After restore lo is up
// again, the namespace is not the host's, the connection carries data both
// ways, and a new connection to the abstract name reaches the root's
// listener: the name lives in the restored namespace.
#define _GNU_SOURCE
#include <net/if.h>
#include <sched.h>
#include <stddef.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "prog.h"

static const char kName[] = "\0cryo-netns-lo-prog";

static struct sockaddr_un addr(socklen_t* len) {
  struct sockaddr_un a = {.sun_family = AF_UNIX};
  memcpy(a.sun_path, kName, sizeof kName - 1);
  *len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + sizeof kName - 1);
  return a;
}

static int lo_up(void) {
  int sk = socket(AF_INET, SOCK_DGRAM, 0);
  struct ifreq r = {0};
  strcpy(r.ifr_name, "lo");
  int up = ioctl(sk, SIOCGIFFLAGS, &r) == 0 && (r.ifr_flags & IFF_UP);
  close(sk);
  return up;
}

int main(int argc, char** argv) {
  prog_init(argc, argv);
  struct stat host;
  PROG_CHECK(stat("/proc/self/ns/net", &host) == 0, "stat the host's network namespace");
  PROG_CHECK(unshare(CLONE_NEWNET) == 0, "unshare(CLONE_NEWNET)");
  int sk = socket(AF_INET, SOCK_DGRAM, 0);
  struct ifreq r = {0};
  strcpy(r.ifr_name, "lo");
  PROG_CHECK(ioctl(sk, SIOCGIFFLAGS, &r) == 0, "lo flags");
  r.ifr_flags |= IFF_UP;
  PROG_CHECK(ioctl(sk, SIOCSIFFLAGS, &r) == 0, "lo up");
  close(sk);
  socklen_t len;
  struct sockaddr_un a = addr(&len);
  int lis = socket(AF_UNIX, SOCK_STREAM, 0);
  PROG_CHECK(bind(lis, (struct sockaddr*)&a, len) == 0 && listen(lis, 4) == 0, "listen on the abstract name");
  pid_t kid = prog_fork_child(0);
  if (kid == 0) {
    int c = socket(AF_UNIX, SOCK_STREAM, 0);
    PROG_CHECK(connect(c, (struct sockaddr*)&a, len) == 0, "connect");
    prog_child_ready(0);
    prog_wait_go();
    PROG_CHECK(lo_up(), "lo is down in the child");
    PROG_CHECK(write(c, "ping", 4) == 4, "write");
    char buf[4];
    PROG_CHECK(read(c, buf, 4) == 4 && memcmp(buf, "pong", 4) == 0, "no pong");
    prog_pass();
  }
  int conn = accept(lis, NULL, NULL);
  PROG_CHECK(conn >= 0, "accept");
  prog_wait_children_ready(1);
  prog_ready();
  prog_wait_go();
  PROG_CHECK(lo_up(), "lo is down");
  struct stat now;
  PROG_CHECK(stat("/proc/self/ns/net", &now) == 0 && now.st_ino != host.st_ino, "back in the host's network namespace");
  char buf[4];
  PROG_CHECK(read(conn, buf, 4) == 4 && memcmp(buf, "ping", 4) == 0, "no ping");
  PROG_CHECK(write(conn, "pong", 4) == 4, "write pong");
  int again = socket(AF_UNIX, SOCK_STREAM, 0);
  PROG_CHECK(connect(again, (struct sockaddr*)&a, len) == 0, "the abstract name is gone after restore");
  PROG_CHECK(accept(lis, NULL, NULL) >= 0, "accept after restore");
  prog_check_child(kid, 0);
  prog_pass();
}
