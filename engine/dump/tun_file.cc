#include "engine/dump/tun_file.h"

#include <linux/if_tun.h>
#include <sys/ioctl.h>
#include <sys/sysmacros.h>

#include "engine/base/unique_fd.h"
#include "netns/tun.h"

namespace cryo {

bool IsTunFile(const struct stat& st) {
  return S_ISCHR(st.st_mode) && major(st.st_rdev) == 10 && minor(st.st_rdev) == 200;
}

Result<img::file_entry> TunFileEntry(pid_t pid, int fd, int ours, uint32_t id, const TunFileWhere& where) {
  netns::TunFile t = CRYO_TRY_CTX(netns::QueryTunFile(ours), "pid {} fd {}: tun file", pid, fd);
  img::file_entry fe;
  fe.set_type(img::TUNF);
  fe.set_id(id);
  auto* e = fe.mutable_tunf();
  e->set_id(id);
  if (where.own_netns) e->set_ns_id(where.ns_id);
  if (!t.attached) return fe;  // opened, never attached: nothing more to it
  if (!where.own_netns)
    return MakeError(ENOTSUP,
                     "pid {} fd {}: tun file attached to {}, a device of cryo's network namespace: not supported "
                     "(give the tree a network namespace of its own)",
                     pid, fd, t.name);
  // The device's namespace, not the file's: a device can be moved.
  UniqueFd dev_ns(::ioctl(ours, TUNGETDEVNETNS));
  struct stat st;
  if (!dev_ns || ::fstat(dev_ns.get(), &st) != 0) return ErrnoError("pid {} fd {}: namespace of tun device {}", pid, fd, t.name);
  if (st.st_ino != where.tree_netns)
    return MakeError(ENOTSUP, "pid {} fd {}: tun file attached to {}, a device of another network namespace: not supported",
                     pid, fd, t.name);
  if (t.filter)
    return MakeError(ENOTSUP, "pid {} fd {}: tun file of {} has a socket filter (TUNATTACHFILTER): not supported", pid,
                     fd, t.name);
  e->set_netdev(t.name);
  if (t.detached) e->set_detached(true);
  return fe;
}

}  // namespace cryo
