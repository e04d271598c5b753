// `cryo dedup -D DIR`: frees, in the parent images of an incremental dump,
// the pages the dump holds itself (CRIU's dedup). The dump restores as
// before; its parents cannot be restored on their own afterwards.
#include "cli/commands.h"
#include "engine/mem/page_chain.h"

namespace cryo {

Result<int> RunDedup(const Options& o, Log& log) {
  uint64_t freed = CRYO_TRY(DedupImages(o.images_dir));
  log.Info("dedup: {} pages freed in the parent images of {}", freed, o.images_dir);
  return 0;
}

}  // namespace cryo
