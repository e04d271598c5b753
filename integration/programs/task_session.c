// A session leader (the harness starts every program with setsid) whose
// process group is its own: after restore it still leads both.
#define _GNU_SOURCE
#include <unistd.h>

#include "prog.h"

int main(int argc, char** argv) {
  prog_init(argc, argv);
  pid_t sid = getsid(0), pgid = getpgid(0);
  PROG_CHECK(sid == getpid() && pgid == getpid(), "not a session leader to begin with");
  prog_ready();
  prog_wait_go();
  PROG_CHECK(getsid(0) == sid, "session %d, was %d", getsid(0), sid);
  PROG_CHECK(getpgid(0) == pgid, "process group %d, was %d", getpgid(0), pgid);
  prog_pass();
}
