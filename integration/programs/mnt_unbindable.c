// An unbindable mount and a mount of the container's own proc bound
// read-only elsewhere: after restore the first still refuses to be bound
// and says so in mountinfo; the second is the container's proc.
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "mnt.h"
#include "prog.h"

static void check(void) {
  char line[1024];
  PROG_CHECK(mnt_line("/mnt/ub", line, sizeof line) && strstr(line, " unbindable "), "unbindable: %s", line);
  mnt_mkdirs("/mnt/ub-try");
  PROG_CHECK(mount("/mnt/ub", "/mnt/ub-try", NULL, MS_BIND, NULL) != 0 && errno == EINVAL,
             "an unbindable mount was bound");
  char buf[64], want[64];
  snprintf(want, sizeof want, "%d", getpid());
  mnt_read("/mnt/proc2/self/stat", buf, sizeof buf);
  PROG_CHECK(strncmp(buf, want, strlen(want)) == 0, "/mnt/proc2 is another pid namespace's proc: %.20s", buf);
  struct statvfs sv;
  PROG_CHECK(statvfs("/mnt/proc2", &sv) == 0 && (sv.f_flag & ST_RDONLY), "/mnt/proc2 is not read-only");
}

int main(int argc, char** argv) {
  prog_init(argc, argv);
  mnt_require_container();
  mnt_mkdirs("/mnt/ub");
  mnt_mount("cryo-ub", "/mnt/ub", "tmpfs", 0, "size=1m");
  mnt_mount(NULL, "/mnt/ub", NULL, MS_UNBINDABLE, NULL);
  mnt_mkdirs("/mnt/proc2");
  mnt_mount("/proc", "/mnt/proc2", NULL, MS_BIND, NULL);
  mnt_mount(NULL, "/mnt/proc2", NULL, MS_REMOUNT | MS_BIND | MS_RDONLY, NULL);
  check();
  prog_ready();
  prog_wait_go();
  check();
  prog_pass();
}
