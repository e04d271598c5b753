#include "engine/restore/tun_file.h"

#include <fcntl.h>
#include <linux/if.h>
#include <linux/if_tun.h>
#include <sys/ioctl.h>

#include <cstring>
#include <string>

#include "engine/base/files.h"
#include "engine/image/image_reader.h"
#include "engine/image/image_type.h"
#include "engine/image/proto/netdev.pb.h"
#include "netns/tun.h"

namespace cryo {
namespace {

// The tun devices of namespace `ns_id`'s netdev image, by name.
Result<std::map<std::string, img::tun_link_entry>> TunLinks(int dir, uint32_t ns_id) {
  std::map<std::string, img::tun_link_entry> out;
  ImageReader r = CRYO_TRY(ImageReader::Open(dir, ImageKind::kNetdev, ns_id));
  img::net_device_entry e;
  while (CRYO_TRY(r.Next(e)))
    if (e.type() == img::TUN && e.has_tun()) out[e.name()] = e.tun();
  return out;
}

Result<> DetachQueue(int fd, const std::string& name) {
  ifreq r{};
  std::strncpy(r.ifr_name, name.c_str(), IFNAMSIZ - 1);
  r.ifr_flags = IFF_DETACH_QUEUE;
  if (::ioctl(fd, TUNSETQUEUE, &r) != 0) return ErrnoError("detach a queue of {}", name);
  return {};
}

}  // namespace

Result<> CreateTunFiles(const ImageSet& s, std::map<uint32_t, UniqueFd>& out) {
  std::map<uint32_t, std::map<std::string, img::tun_link_entry>> links;  // by namespace id
  for (const auto& [id, t] : s.tuns) {
    if (out.count(id)) continue;
    const auto* reg = CRYO_TRY(s.File(id));
    UniqueFd fd;
    if (!t.has_netdev() || t.netdev().empty()) {
      fd = CRYO_TRY_CTX(Open("/dev/net/tun", O_RDWR | O_CLOEXEC), "tun file {}", id);
    } else {
      uint32_t ns = t.has_ns_id() ? t.ns_id() : s.tasks[0].ids.net_ns_id();
      if (!links.count(ns)) links[ns] = CRYO_TRY(TunLinks(s.dir.get(), ns));
      auto it = links[ns].find(t.netdev());
      if (it == links[ns].end())
        return MakeError(ENOENT, "tun file {}: its device {} is not in netdev-{}.img", id, t.netdev(), ns);
      uint32_t flags = it->second.flags();
      // Joins the device the namespace's restore made (by name, with the
      // flags it was made with).
      fd = CRYO_TRY_CTX(netns::AttachTun(t.netdev(), flags & netns::kTunMakeFlags), "tun file {}", id);
      if (!(flags & IFF_PERSIST)) CRYO_TRY(netns::ReleaseTun(fd.get(), t.netdev()));
      if (t.detached()) CRYO_TRY(DetachQueue(fd.get(), t.netdev()));
    }
    constexpr uint32_t kStatus = O_NONBLOCK | O_ASYNC;
    if (::fcntl(fd.get(), F_SETFL, reg->flags() & kStatus) != 0) return ErrnoError("set flags of tun file {}", id);
    out[id] = std::move(fd);
  }
  return {};
}

}  // namespace cryo
