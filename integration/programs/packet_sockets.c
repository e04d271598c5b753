// Packet sockets: a raw one on every interface with TPACKET_V2, aux data
// and an RX ring (not mapped), in promiscuous mode on lo; an IP datagram
// one bound to lo with a header reserve, original-device reporting, a
// fanout group, a unicast membership and a TX ring; an old SOCK_PACKET
// one bound to lo by name and one not bound. After restore each is bound
// where it was, with every option as set, and its memberships can be
// dropped (so they were there).
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <linux/if_packet.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "prog.h"

struct mreq {
  int ifindex;
  unsigned short type, alen;
  unsigned char addr[32];
};

static int get(int fd, int name) {
  int v = -1;
  socklen_t len = sizeof v;
  PROG_CHECK(getsockopt(fd, SOL_PACKET, name, &v, &len) == 0, "getsockopt SOL_PACKET %d", name);
  return v;
}

static void set(int fd, int name, const void* v, socklen_t len) {
  PROG_CHECK(setsockopt(fd, SOL_PACKET, name, v, len) == 0, "setsockopt SOL_PACKET %d", name);
}

static void set_int(int fd, int name, int v) { set(fd, name, &v, sizeof v); }

static struct sockaddr_ll name_of(int fd) {
  struct sockaddr_ll a;
  socklen_t len = sizeof a;
  memset(&a, 0, sizeof a);
  PROG_CHECK(getsockname(fd, (struct sockaddr*)&a, &len) == 0, "getsockname");
  return a;
}

static void ring(int fd, int name) {
  struct tpacket_req r = {.tp_block_size = 4096, .tp_block_nr = 1, .tp_frame_size = 1024, .tp_frame_nr = 4};
  set(fd, name, &r, sizeof r);
}

int main(int argc, char** argv) {
  prog_init(argc, argv);
  int lo = (int)if_nametoindex("lo");
  PROG_CHECK(lo > 0, "lo");
  int raw = socket(AF_PACKET, SOCK_RAW, 0), dgram = socket(AF_PACKET, SOCK_DGRAM, htons(ETH_P_IP));
  int spkt = socket(AF_PACKET, SOCK_PACKET, htons(ETH_P_ALL)), spkt_free = socket(AF_PACKET, SOCK_PACKET, htons(ETH_P_ALL));
  PROG_CHECK(raw >= 0 && dgram >= 0 && spkt >= 0 && spkt_free >= 0, "packet sockets");
  set_int(raw, PACKET_VERSION, TPACKET_V2);
  set_int(raw, PACKET_AUXDATA, 1);
  ring(raw, PACKET_RX_RING);
  struct mreq promisc = {.ifindex = lo, .type = PACKET_MR_PROMISC};
  set(raw, PACKET_ADD_MEMBERSHIP, &promisc, sizeof promisc);
  struct sockaddr_ll a = {.sll_family = AF_PACKET, .sll_ifindex = lo};
  PROG_CHECK(bind(dgram, (struct sockaddr*)&a, sizeof a) == 0, "bind dgram");
  set_int(dgram, PACKET_RESERVE, 8);
  set_int(dgram, PACKET_ORIGDEV, 1);
  int fanout = 77 | (PACKET_FANOUT_CPU << 16);
  set_int(dgram, PACKET_FANOUT, fanout);
  struct mreq ucast = {.ifindex = lo, .type = PACKET_MR_UNICAST, .alen = 6};
  set(dgram, PACKET_ADD_MEMBERSHIP, &ucast, sizeof ucast);
  ring(dgram, PACKET_TX_RING);
  struct sockaddr sa = {.sa_family = AF_PACKET};
  strcpy(sa.sa_data, "lo");
  PROG_CHECK(bind(spkt, &sa, sizeof sa) == 0, "bind SOCK_PACKET");
  struct sockaddr_ll rn = name_of(raw), dn = name_of(dgram);
  prog_ready();
  prog_wait_go();
  struct sockaddr_ll rn2 = name_of(raw), dn2 = name_of(dgram);
  PROG_CHECK(rn2.sll_protocol == rn.sll_protocol && rn2.sll_ifindex == rn.sll_ifindex, "raw: protocol %#x if %d",
             rn2.sll_protocol, rn2.sll_ifindex);
  PROG_CHECK(dn2.sll_protocol == dn.sll_protocol && dn2.sll_ifindex == lo, "dgram: protocol %#x if %d",
             dn2.sll_protocol, dn2.sll_ifindex);
  PROG_CHECK(get(raw, PACKET_VERSION) == TPACKET_V2 && get(raw, PACKET_AUXDATA) == 1, "raw: version or aux data");
  PROG_CHECK(get(dgram, PACKET_RESERVE) == 8 && get(dgram, PACKET_ORIGDEV) == 1, "dgram: reserve or origdev");
  PROG_CHECK(get(dgram, PACKET_FANOUT) == fanout, "dgram: fanout %#x", get(dgram, PACKET_FANOUT));
  PROG_CHECK(get(raw, PACKET_FANOUT) == 0, "raw: fanout %#x", get(raw, PACKET_FANOUT));
  // A ring is there: a second one is refused (EBUSY).
  struct tpacket_req r = {.tp_block_size = 4096, .tp_block_nr = 1, .tp_frame_size = 1024, .tp_frame_nr = 4};
  PROG_CHECK(setsockopt(raw, SOL_PACKET, PACKET_RX_RING, &r, sizeof r) == -1, "raw: no RX ring");
  PROG_CHECK(setsockopt(dgram, SOL_PACKET, PACKET_TX_RING, &r, sizeof r) == -1, "dgram: no TX ring");
  set(raw, PACKET_DROP_MEMBERSHIP, &promisc, sizeof promisc);
  set(dgram, PACKET_DROP_MEMBERSHIP, &ucast, sizeof ucast);
  struct sockaddr s1, s2;
  socklen_t l1 = sizeof s1, l2 = sizeof s2;
  PROG_CHECK(getsockname(spkt, &s1, &l1) == 0 && strcmp(s1.sa_data, "lo") == 0, "SOCK_PACKET bound to '%s'", s1.sa_data);
  PROG_CHECK(getsockname(spkt_free, &s2, &l2) == 0 && s2.sa_data[0] == 0, "unbound SOCK_PACKET bound to '%s'",
             s2.sa_data);
  prog_pass();
}
