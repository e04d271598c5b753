// `cryo lazy-pages -D DIR [-W DIR] [--page-server --address A --port P]
// [--status-fd N]`: the lazy-pages daemon for one `restore --lazy-pages`
// of DIR. It listens on lazy-pages.socket in the work dir (-W, else DIR),
// and takes pages from DIR's pages files, or with --page-server from the
// page server of a `dump --lazy-pages` on the dumping host. It exits once
// every page is in the restored processes.
#include <fcntl.h>
#include <unistd.h>

#include "cli/commands.h"
#include "engine/base/files.h"
#include "engine/mem/lazy_daemon.h"
#include "engine/mem/lazy_socket.h"
#include "engine/mem/page_sink.h"

namespace cryo {

Result<int> RunLazyPages(const Options& o, Log& log) {
  if (o.status_fd >= 0 && ::fcntl(o.status_fd, F_GETFD) < 0)
    return ErrnoError("lazy-pages: --status-fd {} is not open", o.status_fd);
  std::unique_ptr<LazySource> source;
  if (o.page_server)
    source = RemoteLazySource(CRYO_TRY_CTX(ConnectPageServer(o.address, o.port), "lazy-pages"));
  else
    source = CRYO_TRY_CTX(LocalLazySource(o.images_dir), "lazy-pages");
  UniqueFd sock = CRYO_TRY_CTX(lazy::Listen(o.WorkDir()), "lazy-pages");
  log.Info("lazy pages: waiting for the restore at {}/{}", o.WorkDir(), lazy::kSocketName);
  CRYO_TRY_CTX(SignalStatusFd(o.status_fd), "lazy-pages");
  auto served = ServeLazyPages(sock.get(), o.images_dir, *source, log);
  ::unlink((o.WorkDir() + "/" + lazy::kSocketName).c_str());
  CRYO_TRY(std::move(served));
  return 0;
}

}  // namespace cryo
