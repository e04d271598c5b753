// Per-mm state set by prctl and membarrier: THP disabled for the process
// (PR_SET_THP_DISABLE) and its membarrier registrations (private
// expedited, its sync-core and rseq kinds): the same after restore, and
// the registered barriers work.
#define _GNU_SOURCE
#include <linux/membarrier.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "prog.h"

#define GET_REGISTRATIONS (1 << 9)

static long membarrier(int cmd) { return syscall(SYS_membarrier, cmd, 0, 0); }

int main(int argc, char** argv) {
  prog_init(argc, argv);
  PROG_CHECK(prctl(PR_SET_THP_DISABLE, 1, 0, 0, 0) == 0, "PR_SET_THP_DISABLE");
  PROG_CHECK(membarrier(MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED) == 0, "register private expedited");
  PROG_CHECK(membarrier(MEMBARRIER_CMD_REGISTER_PRIVATE_EXPEDITED_SYNC_CORE) == 0, "register sync core");
  long before = membarrier(GET_REGISTRATIONS);
  PROG_CHECK(before > 0, "GET_REGISTRATIONS");
  prog_ready();
  prog_wait_go();
  int thp = prctl(PR_GET_THP_DISABLE, 0, 0, 0, 0);
  PROG_CHECK(thp == 1, "PR_GET_THP_DISABLE is %d after restore", thp);
  long after = membarrier(GET_REGISTRATIONS);
  PROG_CHECK(after == before, "membarrier registrations %#lx, were %#lx", after, before);
  PROG_CHECK(membarrier(MEMBARRIER_CMD_PRIVATE_EXPEDITED) == 0, "private expedited barrier");
  PROG_CHECK(membarrier(MEMBARRIER_CMD_PRIVATE_EXPEDITED_SYNC_CORE) == 0, "sync-core barrier");
  PROG_CHECK(membarrier(MEMBARRIER_CMD_PRIVATE_EXPEDITED_RSEQ) != 0, "rseq barrier works unregistered");
  prog_pass();
}
