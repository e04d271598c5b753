// Netlink sockets: a uevent socket bound to a port id of its choosing,
// one bound to a multicast group, one connected to the first, one never
// bound, and a route socket in groups above 32 (joined by
// NETLINK_ADD_MEMBERSHIP). After restore the port ids, groups and peer
// are as they were, and a message from the connected socket (and one
// sent by port id from the unbound one) reaches the first.
#define _GNU_SOURCE
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "prog.h"

#ifndef SOL_NETLINK
#define SOL_NETLINK 270
#endif

static int nl(int proto) {
  int fd = socket(AF_NETLINK, SOCK_RAW, proto);
  PROG_CHECK(fd >= 0, "netlink socket %d", proto);
  return fd;
}

static struct sockaddr_nl name(int fd) {
  struct sockaddr_nl a;
  socklen_t len = sizeof a;
  PROG_CHECK(getsockname(fd, (struct sockaddr*)&a, &len) == 0, "getsockname");
  return a;
}

static void groups(int fd, uint32_t* out, size_t words) {
  socklen_t len = (socklen_t)(words * sizeof *out);
  memset(out, 0, len);
  PROG_CHECK(getsockopt(fd, SOL_NETLINK, NETLINK_LIST_MEMBERSHIPS, out, &len) == 0, "NETLINK_LIST_MEMBERSHIPS");
}

static void expect_message(int fd, uint16_t type, const char* what) {
  char buf[256];
  ssize_t n = recv(fd, buf, sizeof buf, MSG_DONTWAIT);
  PROG_CHECK(n >= (ssize_t)sizeof(struct nlmsghdr), "%s: recv %zd", what, n);
  PROG_CHECK(((struct nlmsghdr*)buf)->nlmsg_type == type, "%s: type %#x", what, ((struct nlmsghdr*)buf)->nlmsg_type);
}

static void send_to(int fd, uint32_t portid, uint16_t type, const char* what) {
  struct nlmsghdr h = {.nlmsg_len = sizeof h, .nlmsg_type = type, .nlmsg_flags = NLM_F_REQUEST};
  struct sockaddr_nl to = {.nl_family = AF_NETLINK, .nl_pid = portid};
  ssize_t n = portid ? sendto(fd, &h, sizeof h, 0, (struct sockaddr*)&to, sizeof to) : send(fd, &h, sizeof h, 0);
  PROG_CHECK(n == sizeof h, "%s: send", what);
}

int main(int argc, char** argv) {
  prog_init(argc, argv);
  int server = nl(NETLINK_KOBJECT_UEVENT), member = nl(NETLINK_KOBJECT_UEVENT);
  int client = nl(NETLINK_KOBJECT_UEVENT), lone = nl(NETLINK_KOBJECT_UEVENT), route = nl(NETLINK_ROUTE);
  struct sockaddr_nl a = {.nl_family = AF_NETLINK, .nl_pid = (uint32_t)getpid() + 7000};
  PROG_CHECK(bind(server, (struct sockaddr*)&a, sizeof a) == 0, "bind server");
  struct sockaddr_nl g = {.nl_family = AF_NETLINK, .nl_groups = 1u << 30};
  PROG_CHECK(bind(member, (struct sockaddr*)&g, sizeof g) == 0, "bind member");
  PROG_CHECK(connect(client, (struct sockaddr*)&a, sizeof a) == 0, "connect client");
  struct sockaddr_nl r = {.nl_family = AF_NETLINK, .nl_groups = RTMGRP_LINK};
  PROG_CHECK(bind(route, (struct sockaddr*)&r, sizeof r) == 0, "bind route");
  int high = RTNLGRP_BRVLAN;  // 33
  PROG_CHECK(high > 32, "group %d", high);
  PROG_CHECK(setsockopt(route, SOL_NETLINK, NETLINK_ADD_MEMBERSHIP, &high, sizeof high) == 0, "join group %d", high);
  struct sockaddr_nl sn = name(server), mn = name(member), cn = name(client), rn = name(route);
  uint32_t rg[4], mg[4];
  groups(route, rg, 4);
  groups(member, mg, 4);
  prog_ready();
  prog_wait_go();
  struct sockaddr_nl sn2 = name(server), mn2 = name(member), cn2 = name(client), rn2 = name(route);
  PROG_CHECK(sn2.nl_pid == sn.nl_pid && mn2.nl_pid == mn.nl_pid && cn2.nl_pid == cn.nl_pid && rn2.nl_pid == rn.nl_pid,
             "port ids %u %u %u %u, were %u %u %u %u", sn2.nl_pid, mn2.nl_pid, cn2.nl_pid, rn2.nl_pid, sn.nl_pid,
             mn.nl_pid, cn.nl_pid, rn.nl_pid);
  uint32_t rg2[4], mg2[4];
  groups(route, rg2, 4);
  groups(member, mg2, 4);
  PROG_CHECK(memcmp(rg, rg2, sizeof rg) == 0, "route groups %#x %#x, were %#x %#x", rg2[0], rg2[1], rg[0], rg[1]);
  PROG_CHECK(memcmp(mg, mg2, sizeof mg) == 0, "member groups %#x, were %#x", mg2[0], mg[0]);
  struct sockaddr_nl peer;
  socklen_t len = sizeof peer;
  PROG_CHECK(getpeername(client, (struct sockaddr*)&peer, &len) == 0 && peer.nl_pid == sn.nl_pid, "client's peer");
  send_to(client, 0, 0x1234, "connected client");
  expect_message(server, 0x1234, "from the client");
  send_to(lone, sn.nl_pid, 0x4321, "unbound socket");
  expect_message(server, 0x4321, "from the unbound socket");
  prog_pass();
}
