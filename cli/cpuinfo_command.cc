// cryo cpuinfo dump|check -D DIR: the CPU as cpuinfo.img, or whether the
// one in DIR can run here (arch/x86_64/cpuinfo.h).
#include "arch/x86_64/cpuinfo.h"
#include "cli/commands.h"
#include "engine/image/image_dir.h"

namespace cryo {

Result<int> RunCpuinfo(const Options& o, Log& log) {
  UniqueFd dir = CRYO_TRY(OpenImageDir(o.images_dir));
  if (o.arguments.at(0) == "dump") {
    CRYO_TRY_CTX(arch::DumpCpuinfo(dir.get()), "cpuinfo dump");
    log.Info("cpuinfo.img written in {}", o.images_dir);
    return 0;
  }
  CRYO_TRY_CTX(arch::CheckCpuinfo(dir.get()), "cpuinfo check");
  log.Info("the CPU of {} can run here", o.images_dir);
  return 0;
}

}  // namespace cryo
