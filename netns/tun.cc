#include "netns/tun.h"

#include <dirent.h>
#include <fcntl.h>
#include <linux/filter.h>
#include <linux/if.h>
#include <linux/if_link.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>

#include "engine/base/files.h"
#include "engine/proc/proc.h"

namespace cryo::netns {
namespace {

constexpr unsigned kTunMajor = 10, kTunMinor = 200;

ifreq Request(const std::string& name, uint32_t flags) {
  ifreq r{};
  std::strncpy(r.ifr_name, name.c_str(), IFNAMSIZ - 1);
  r.ifr_flags = static_cast<short>(flags);
  return r;
}

bool IsTunDevice(const struct stat& st) {
  return S_ISCHR(st.st_mode) && major(st.st_rdev) == kTunMajor && minor(st.st_rdev) == kTunMinor;
}

// The device name fdinfo shows for a tun file ("iff:\tNAME"), "" when none.
std::string FdinfoDevice(const std::string& fdinfo) {
  size_t at = fdinfo.find("\niff:");
  if (at == std::string::npos) return "";
  at += 5;
  size_t end = fdinfo.find('\n', at);
  std::string v = fdinfo.substr(at, end == std::string::npos ? std::string::npos : end - at);
  size_t b = v.find_first_not_of(" \t");
  return b == std::string::npos ? "" : v.substr(b);
}

// A file attached to `name` that some process of namespace `netns_ino`
// holds (the tree's, frozen), as cryo's own fd; invalid when none.
UniqueFd HeldFile(const std::string& name, uint64_t netns_ino) {
  DIR* d = ::opendir("/proc");
  if (!d) return UniqueFd();
  UniqueFd found;
  while (dirent* e = ::readdir(d)) {
    char* end = nullptr;
    long pid = std::strtol(e->d_name, &end, 10);
    // Not cryo: its thread being in the namespace puts it there.
    if (pid <= 0 || *end || pid == ::getpid()) continue;
    struct stat ns;
    if (::stat(fmt::format("/proc/{}/ns/net", pid).c_str(), &ns) != 0 || ns.st_ino != netns_ino) continue;
    for (int fd : ListFds(static_cast<pid_t>(pid))) {
      struct stat st;
      if (::stat(fmt::format("/proc/{}/fd/{}", pid, fd).c_str(), &st) != 0 || !IsTunDevice(st)) continue;
      auto info = ReadFile(fmt::format("/proc/{}/fdinfo/{}", pid, fd));
      if (!info || FdinfoDevice(*info) != name) continue;
      auto ours = TakeTaskFd(static_cast<pid_t>(pid), fd);
      if (!ours) continue;
      found = std::move(*ours);
      break;
    }
    if (found) break;
  }
  ::closedir(d);
  return found;
}

uint8_t U8(const nlattr* a) { return a ? mnl_attr_get_u8(a) : 0; }

}  // namespace

Result<TunFile> QueryTunFile(int fd) {
  TunFile t;
  ifreq r{};
  if (::ioctl(fd, TUNGETIFF, &r) != 0) {
    if (errno == EBADFD) return t;  // opened, never attached
    return ErrnoError("TUNGETIFF");
  }
  t.attached = true;
  t.name = r.ifr_name;
  auto f = static_cast<uint16_t>(r.ifr_flags);
  t.detached = f & IFF_DETACH_QUEUE;
  // IFF_NOFILTER shares IFF_NO_PI's bit: that one comes from netlink.
  t.flags = f & ~static_cast<uint32_t>(IFF_DETACH_QUEUE | IFF_NOFILTER);
  if (::ioctl(fd, TUNGETVNETHDRSZ, &t.vnethdr) != 0) return ErrnoError("TUNGETVNETHDRSZ of {}", t.name);
  if (::ioctl(fd, TUNGETSNDBUF, &t.sndbuf) != 0) return ErrnoError("TUNGETSNDBUF of {}", t.name);
  // Only a tap takes a socket filter; TUNGETFILTER gives its length.
  sock_fprog prog{};
  int len = ::ioctl(fd, TUNGETFILTER, &prog);
  t.filter = len > 0;
  return t;
}

Result<img::tun_link_entry> DumpTunLink(const std::string& name, const Attrs& data, uint64_t netns_ino, Log& log) {
  img::tun_link_entry e;
  uint32_t flags = U8(data[IFLA_TUN_TYPE]) & TUN_TYPE_MASK;
  if (!flags) return MakeError(EINVAL, "tun device {}: netlink shows no type", name);
  if (data[IFLA_TUN_PI] && !U8(data[IFLA_TUN_PI])) flags |= IFF_NO_PI;
  if (U8(data[IFLA_TUN_VNET_HDR])) flags |= IFF_VNET_HDR;
  if (U8(data[IFLA_TUN_MULTI_QUEUE])) flags |= IFF_MULTI_QUEUE;
  bool persist = U8(data[IFLA_TUN_PERSIST]);
  if (persist) flags |= IFF_PERSIST;
  // No owner or group set: -1, as the kernel and CRIU say it.
  e.set_owner(data[IFLA_TUN_OWNER] ? static_cast<int32_t>(mnl_attr_get_u32(data[IFLA_TUN_OWNER])) : -1);
  e.set_group(data[IFLA_TUN_GROUP] ? static_cast<int32_t>(mnl_attr_get_u32(data[IFLA_TUN_GROUP])) : -1);

  UniqueFd file = HeldFile(name, netns_ino);
  if (!file && persist) {
    // Nobody holds it: attach for a moment. With its own flags exactly:
    // an attach sets the device's features (IFF_NOFILTER, being IFF_NO_PI's
    // bit, cannot be asked for either).
    file = CRYO_TRY_CTX(AttachTun(name, flags & kTunMakeFlags), "read the settings of tun device {}", name);
  }
  if (!file)
    return MakeError(ENOTSUP,
                     "tun device {} is not persistent and no process of its network namespace holds it (its file "
                     "is in another namespace): not supported",
                     name);
  TunFile t = CRYO_TRY_CTX(QueryTunFile(file.get()), "tun device {}", name);
  if (t.filter) return MakeError(ENOTSUP, "tun device {} has a socket filter (TUNATTACHFILTER): not supported", name);
  // What netlink does not tell (napi) the file does.
  flags |= t.flags & (IFF_NAPI | IFF_NAPI_FRAGS);
  e.set_flags(flags);
  e.set_vnethdr(static_cast<uint32_t>(t.vnethdr));
  e.set_sndbuf(static_cast<uint32_t>(t.sndbuf));
  log.Info("tun device {}: flags {:#x}, owner {}, group {}, vnethdr {}, sndbuf {}", name, flags, e.owner(), e.group(),
           e.vnethdr(), e.sndbuf());
  return e;
}

Result<UniqueFd> AttachTun(const std::string& name, uint32_t flags, uint32_t ifindex, int open_flags) {
  UniqueFd fd = CRYO_TRY(Open("/dev/net/tun", O_RDWR | O_CLOEXEC | open_flags));
  if (ifindex) {
    unsigned idx = ifindex;
    if (::ioctl(fd.get(), TUNSETIFINDEX, &idx) != 0) return ErrnoError("TUNSETIFINDEX {} for {}", ifindex, name);
  }
  ifreq r = Request(name, flags);
  if (::ioctl(fd.get(), TUNSETIFF, &r) != 0) return ErrnoError("TUNSETIFF {} (flags {:#x})", name, flags);
  return fd;
}

Result<> CreateTunLink(const img::net_device_entry& e) {
  if (!e.has_tun()) return MakeError(EINVAL, "tun device {}: no tun_link_entry in the image", e.name());
  const auto& t = e.tun();
  uint32_t flags = t.flags() & kTunMakeFlags;
  // At its dumped index (addresses and routes name it so) when free.
  auto made = AttachTun(e.name(), flags, e.ifindex());
  if (!made && (made.error().err() == EBUSY || made.error().err() == EEXIST)) made = AttachTun(e.name(), flags);
  if (!made) return std::unexpected(made.error().context(fmt::format("create tun device {}", e.name())));
  int fd = made->get();
  if (t.owner() != -1 && ::ioctl(fd, TUNSETOWNER, static_cast<unsigned long>(t.owner())) != 0)
    return ErrnoError("tun device {}: TUNSETOWNER {}", e.name(), t.owner());
  if (t.group() != -1 && ::ioctl(fd, TUNSETGROUP, static_cast<unsigned long>(t.group())) != 0)
    return ErrnoError("tun device {}: TUNSETGROUP {}", e.name(), t.group());
  int sndbuf = static_cast<int>(t.sndbuf());
  if (t.sndbuf() && ::ioctl(fd, TUNSETSNDBUF, &sndbuf) != 0)
    return ErrnoError("tun device {}: TUNSETSNDBUF {}", e.name(), sndbuf);
  int hdr = static_cast<int>(t.vnethdr());
  if (t.vnethdr() && ::ioctl(fd, TUNSETVNETHDRSZ, &hdr) != 0)
    return ErrnoError("tun device {}: TUNSETVNETHDRSZ {}", e.name(), hdr);
  // Outlives this fd until the tree's own files hold it.
  if (::ioctl(fd, TUNSETPERSIST, 1UL) != 0) return ErrnoError("tun device {}: TUNSETPERSIST", e.name());
  return {};
}

Result<> ReleaseTun(int fd, const std::string& name) {
  if (::ioctl(fd, TUNSETPERSIST, 0UL) != 0) return ErrnoError("tun device {}: drop persistence", name);
  return {};
}

}  // namespace cryo::netns
