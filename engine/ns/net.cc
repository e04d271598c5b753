#include "engine/ns/net.h"

#include <net/if.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstring>

#include "engine/base/files.h"
#include "engine/base/unique_fd.h"
#include "engine/ns/probe.h"

namespace cryo::ns {
namespace {

struct LoInfo {
  int flags, mtu, index;
};

long Probe(char* out, size_t cap, const char*) {
  if (cap < sizeof(LoInfo)) return -ENOSPC;
  int sk = ::socket(AF_INET, SOCK_DGRAM, 0);
  if (sk < 0) return -errno;
  ifreq r{};
  ::strcpy(r.ifr_name, "lo");
  LoInfo info{};
  long err = 0;
  if (::ioctl(sk, SIOCGIFFLAGS, &r) != 0) err = -errno;
  info.flags = r.ifr_flags;
  if (err == 0 && ::ioctl(sk, SIOCGIFMTU, &r) != 0) err = -errno;
  info.mtu = r.ifr_mtu;
  if (err == 0 && ::ioctl(sk, SIOCGIFINDEX, &r) != 0) err = -errno;
  info.index = r.ifr_ifindex;
  ::close(sk);
  if (err != 0) return err;
  ::memcpy(out, &info, sizeof info);
  return sizeof info;
}

}  // namespace

Result<NetState> DumpNet(pid_t pid) {
  std::string dev = CRYO_TRY(ReadFile(fmt::format("/proc/{}/net/dev", pid)));
  // Two header lines, then "  name: counters...".
  std::string_view s = dev;
  for (int skip = 0; skip < 2 && !s.empty(); skip++) {
    size_t nl = s.find('\n');
    s = nl == std::string_view::npos ? std::string_view() : s.substr(nl + 1);
  }
  while (!s.empty()) {
    size_t nl = s.find('\n');
    std::string_view line = s.substr(0, nl);
    s = nl == std::string_view::npos ? std::string_view() : s.substr(nl + 1);
    size_t colon = line.find(':');
    if (colon == std::string_view::npos) continue;
    std::string_view name = line.substr(0, colon);
    name.remove_prefix(std::min(name.find_first_not_of(' '), name.size()));
    if (name != "lo")
      return MakeError(ENOTSUP, "the network namespace of {} has device {}: only lo is supported yet", pid, name);
  }
  std::string raw = CRYO_TRY_CTX(ReadInside(pid, CLONE_NEWNET, Probe), "network namespace of {}", pid);
  if (raw.size() != sizeof(LoInfo)) return MakeError(EIO, "lo of {}", pid);
  LoInfo info;
  std::memcpy(&info, raw.data(), sizeof info);
  NetState n;
  n.lo.set_type(img::LOOPBACK);
  n.lo.set_ifindex(static_cast<uint32_t>(info.index));
  n.lo.set_mtu(static_cast<uint32_t>(info.mtu));
  n.lo.set_flags(static_cast<uint32_t>(info.flags) & 0xffff);
  n.lo.set_name("lo");
  return n;
}

Result<> ApplyNet(const NetState& n) {
  UniqueFd sk(::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
  if (!sk) return ErrnoError("socket");
  ifreq r{};
  std::strcpy(r.ifr_name, "lo");
  if (::ioctl(sk.get(), SIOCGIFMTU, &r) != 0) return ErrnoError("lo MTU");
  if (static_cast<uint32_t>(r.ifr_mtu) != n.lo.mtu()) {
    r.ifr_mtu = static_cast<int>(n.lo.mtu());
    if (::ioctl(sk.get(), SIOCSIFMTU, &r) != 0) return ErrnoError("set lo MTU {}", n.lo.mtu());
  }
  if (::ioctl(sk.get(), SIOCGIFFLAGS, &r) != 0) return ErrnoError("lo flags");
  // Only what can be set: up (with it, running and the kernel's addresses).
  short want = static_cast<short>(n.lo.flags() & IFF_UP);
  if ((r.ifr_flags & IFF_UP) != want) {
    r.ifr_flags = static_cast<short>((r.ifr_flags & ~IFF_UP) | want);
    if (::ioctl(sk.get(), SIOCSIFFLAGS, &r) != 0) return ErrnoError("set lo flags {:#x}", n.lo.flags());
  }
  return {};
}

}  // namespace cryo::ns
