// A pty whose slave belongs to a user (as after a login): owner
// 13333:44444. After restore the slave, opened by its name and
// through the fd held since, reports that owner.
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "prog.h"

int main(int argc, char** argv) {
  prog_init(argc, argv);
  int m = posix_openpt(O_RDWR | O_NOCTTY);
  PROG_CHECK(m >= 0, "posix_openpt");
  PROG_CHECK(grantpt(m) == 0 && unlockpt(m) == 0, "unlockpt");
  char name[64];
  PROG_CHECK(ptsname_r(m, name, sizeof name) == 0, "ptsname");
  int s = open(name, O_RDWR | O_NOCTTY);
  PROG_CHECK(s >= 0, "open %s", name);
  PROG_CHECK(fchown(s, 13333, 44444) == 0, "fchown");
  prog_ready();
  prog_wait_go();
  struct stat st;
  PROG_CHECK(fstat(s, &st) == 0, "fstat slave");
  PROG_CHECK(st.st_uid == 13333 && st.st_gid == 44444, "slave owner %u:%u, want 13333:44444", st.st_uid, st.st_gid);
  char now[64];
  PROG_CHECK(ptsname_r(m, now, sizeof now) == 0, "ptsname after");
  PROG_CHECK(stat(now, &st) == 0, "stat %s", now);
  PROG_CHECK(st.st_uid == 13333 && st.st_gid == 44444, "%s owner %u:%u, want 13333:44444", now, st.st_uid, st.st_gid);
  prog_pass();
}
