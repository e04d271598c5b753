// A process in a network namespace of its own with tun/tap devices: a tun
// (IFF_TUN|IFF_NO_PI, MTU 1400, 10.210.1.1/24) and a tap (IFF_TAP, with
// packet info, 10.210.2.1/24), each held by an fd, both up; a persistent
// tap no fd holds (owner 4242); and a /dev/net/tun fd never attached.
// After restore each fd is attached to its device again (TUNGETIFF name
// and type), the devices are up with their address and MTU, a datagram
// the kernel routes into the tun's subnet is read from the tun fd, an ARP
// request for the tap's subnet from the tap fd, the persistent tap is
// there, and the spare fd is still unattached.
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/if.h>
#include <linux/if_tun.h>
#include <netinet/in.h>
#include <poll.h>
#include <sched.h>
#include <stdint.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "prog.h"

static const char kPayload[] = "cryo-tun-datagram";

static int tun_open(const char* name, short flags) {
  int fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC);
  PROG_CHECK(fd >= 0, "open /dev/net/tun");
  struct ifreq r = {0};
  strncpy(r.ifr_name, name, IFNAMSIZ - 1);
  r.ifr_flags = flags;
  PROG_CHECK(ioctl(fd, TUNSETIFF, &r) == 0, "TUNSETIFF %s", name);
  return fd;
}

static void set_ip(int sk, const char* dev, const char* addr, int mtu) {
  struct ifreq r = {0};
  strncpy(r.ifr_name, dev, IFNAMSIZ - 1);
  struct sockaddr_in* a = (struct sockaddr_in*)&r.ifr_addr;
  a->sin_family = AF_INET;
  inet_pton(AF_INET, addr, &a->sin_addr);
  PROG_CHECK(ioctl(sk, SIOCSIFADDR, &r) == 0, "address of %s", dev);
  inet_pton(AF_INET, "255.255.255.0", &a->sin_addr);
  PROG_CHECK(ioctl(sk, SIOCSIFNETMASK, &r) == 0, "netmask of %s", dev);
  if (mtu) {
    r.ifr_mtu = mtu;
    PROG_CHECK(ioctl(sk, SIOCSIFMTU, &r) == 0, "mtu of %s", dev);
  }
  PROG_CHECK(ioctl(sk, SIOCGIFFLAGS, &r) == 0, "flags of %s", dev);
  r.ifr_flags |= IFF_UP;
  PROG_CHECK(ioctl(sk, SIOCSIFFLAGS, &r) == 0, "%s up", dev);
}

static void check_dev(int sk, const char* dev, const char* addr, int mtu) {
  struct ifreq r = {0};
  strncpy(r.ifr_name, dev, IFNAMSIZ - 1);
  PROG_CHECK(ioctl(sk, SIOCGIFFLAGS, &r) == 0, "%s is gone", dev);
  PROG_CHECK(r.ifr_flags & IFF_UP, "%s is down", dev);
  PROG_CHECK(ioctl(sk, SIOCGIFADDR, &r) == 0, "%s has no address", dev);
  char got[INET_ADDRSTRLEN];
  inet_ntop(AF_INET, &((struct sockaddr_in*)&r.ifr_addr)->sin_addr, got, sizeof got);
  PROG_CHECK(strcmp(got, addr) == 0, "%s has address %s, not %s", dev, got, addr);
  if (mtu) PROG_CHECK(ioctl(sk, SIOCGIFMTU, &r) == 0 && r.ifr_mtu == mtu, "%s has mtu %d, not %d", dev, r.ifr_mtu, mtu);
}

static void check_attached(int fd, const char* name, int type) {
  struct ifreq r = {0};
  PROG_CHECK(ioctl(fd, TUNGETIFF, &r) == 0, "TUNGETIFF for %s", name);
  PROG_CHECK(strcmp(r.ifr_name, name) == 0, "fd attached to %s, not %s", r.ifr_name, name);
  PROG_CHECK((r.ifr_flags & TUN_TYPE_MASK) == type, "%s: type %#x, not %#x", name, r.ifr_flags & TUN_TYPE_MASK, type);
}

// Reads packets from `fd` until `match` says one is the one (2 s at most).
static int read_until(int fd, int (*match)(const unsigned char*, ssize_t)) {
  unsigned char buf[2048];
  for (int i = 0; i < 40; i++) {
    struct pollfd p = {.fd = fd, .events = POLLIN};
    if (poll(&p, 1, 50) != 1) continue;
    ssize_t n = read(fd, buf, sizeof buf);
    if (n > 0 && match(buf, n)) return 1;
  }
  return 0;
}

// An IPv4 UDP datagram (no packet info) ending with the payload.
static int is_datagram(const unsigned char* b, ssize_t n) {
  size_t len = sizeof kPayload - 1;
  return n > 28 && (b[0] >> 4) == 4 && b[9] == IPPROTO_UDP && (size_t)n >= len &&
         memcmp(b + n - len, kPayload, len) == 0;
}

// Packet info (4 bytes), then an Ethernet frame carrying ARP.
static int is_arp(const unsigned char* b, ssize_t n) {
  return n >= 4 + 14 + 28 && b[4 + 12] == 0x08 && b[4 + 13] == 0x06;
}

static void send_to(const char* addr) {
  int u = socket(AF_INET, SOCK_DGRAM, 0);
  struct sockaddr_in to = {.sin_family = AF_INET, .sin_port = htons(9999)};
  inet_pton(AF_INET, addr, &to.sin_addr);
  PROG_CHECK(sendto(u, kPayload, sizeof kPayload - 1, 0, (struct sockaddr*)&to, sizeof to) > 0 || errno == EHOSTUNREACH,
             "send to %s", addr);
  close(u);
}

int main(int argc, char** argv) {
  prog_init(argc, argv);
  PROG_CHECK(unshare(CLONE_NEWNET) == 0, "unshare(CLONE_NEWNET)");
  int tun = tun_open("ctun0", IFF_TUN | IFF_NO_PI);
  int tap = tun_open("ctap0", IFF_TAP);
  int keep = tun_open("cptap0", IFF_TAP);
  PROG_CHECK(ioctl(keep, TUNSETOWNER, 4242) == 0 && ioctl(keep, TUNSETPERSIST, 1) == 0, "persistent cptap0");
  close(keep);
  int spare = open("/dev/net/tun", O_RDWR);
  PROG_CHECK(spare >= 0, "open a spare /dev/net/tun");
  int sk = socket(AF_INET, SOCK_DGRAM, 0);
  set_ip(sk, "ctun0", "10.210.1.1", 1400);
  set_ip(sk, "ctap0", "10.210.2.1", 0);
  prog_ready();
  prog_wait_go();
  check_attached(tun, "ctun0", IFF_TUN);
  check_attached(tap, "ctap0", IFF_TAP);
  check_dev(sk, "ctun0", "10.210.1.1", 1400);
  check_dev(sk, "ctap0", "10.210.2.1", 0);
  struct ifreq r = {0};
  strcpy(r.ifr_name, "cptap0");
  PROG_CHECK(ioctl(sk, SIOCGIFFLAGS, &r) == 0, "the persistent tap cptap0 is gone");
  PROG_CHECK(ioctl(spare, TUNGETIFF, &r) != 0 && errno == EBADFD, "the spare tun fd is attached");
  send_to("10.210.1.2");
  PROG_CHECK(read_until(tun, is_datagram), "no datagram came out of ctun0's fd");
  send_to("10.210.2.2");
  PROG_CHECK(read_until(tap, is_arp), "no ARP request came out of ctap0's fd");
  prog_pass();
}
