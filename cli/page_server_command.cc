// `cryo page-server -D DIR [--address A] [--port P] [-d] [--pidfile F]
// [--status-fd N]`: receives the pagemaps and pages of one dump run with
// --page-server (CRIU's protocol) into DIR, then exits. With --port 0 the
// port the kernel picked is printed ("port N") once it listens.
#include <fcntl.h>
#include <unistd.h>

#include <cstdio>

#include "cli/commands.h"
#include "engine/base/files.h"
#include "engine/image/image_dir.h"
#include "engine/mem/page_server.h"

namespace cryo {

Result<int> RunPageServer(const Options& o, Log& log) {
  if (o.status_fd >= 0 && ::fcntl(o.status_fd, F_GETFD) < 0)
    return ErrnoError("page-server: --status-fd {} is not open", o.status_fd);
  UniqueFd dir = CRYO_TRY(OpenImageDir(o.images_dir));
  ps::Listener l = CRYO_TRY(ps::Listen(o.address, o.port));
  log.Info("page server listening on port {}", l.port);
  auto ready = [&](pid_t server) -> Result<> {
    if (!o.pidfile.empty()) CRYO_TRY(WriteFile(o.pidfile, fmt::format("{}", server), 0644));
    if (o.port == 0) {
      std::printf("port %d\n", l.port);
      std::fflush(stdout);
    }
    CRYO_TRY_CTX(SignalStatusFd(o.status_fd), "page-server");
    return {};
  };
  if (o.daemon) {
    pid_t server = CRYO_TRY(ps::StartDetached(l, dir.get(), log));
    CRYO_TRY(ready(server));
    return 0;
  }
  CRYO_TRY(ready(::getpid()));
  CRYO_TRY(ps::ServeOne(l.fd.get(), dir.get(), log));
  return 0;
}

}  // namespace cryo
