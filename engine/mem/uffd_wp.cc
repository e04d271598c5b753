#include "engine/mem/uffd_wp.h"

#include <linux/userfaultfd.h>
#include <sys/ioctl.h>

#include "engine/base/linux_compat.h"

namespace cryo {

Result<> EnableAsyncWp(int uffd) {
  uffdio_api api{};
  api.api = UFFD_API;
  api.features = UFFD_FEATURE_WP_ASYNC | UFFD_FEATURE_WP_UNPOPULATED;
  if (::ioctl(uffd, UFFDIO_API, &api) != 0) return ErrnoError("UFFDIO_API (asynchronous write protect)");
  return {};
}

Result<> RegisterWp(int uffd, uint64_t start, uint64_t end) {
  uffdio_register r{};
  r.range.start = start;
  r.range.len = end - start;
  r.mode = UFFDIO_REGISTER_MODE_WP;
  if (::ioctl(uffd, UFFDIO_REGISTER, &r) != 0) return ErrnoError("UFFDIO_REGISTER {:#x}-{:#x}", start, end);
  return {};
}

}  // namespace cryo
