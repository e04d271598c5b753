// cgroup2 mounted inside the container (its cgroup namespace): after
// restore the mount is there again, rooted at the namespace's cgroup
// (mountinfo root "/"), and lists this process among its members.
#define _GNU_SOURCE
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <unistd.h>

#include "mnt.h"
#include "prog.h"

static void check(void) {
  char line[1024];
  PROG_CHECK(mnt_line("/mnt/cg2", line, sizeof line) && strstr(line, " / /mnt/cg2 ") && strstr(line, " - cgroup2 "),
             "cgroup2 mount: %s", line);
  static char procs[65536];
  mnt_read("/mnt/cg2/cgroup.procs", procs, sizeof procs);
  char me[32];
  snprintf(me, sizeof me, "%d\n", getpid());
  PROG_CHECK(strstr(procs, me), "not a member of the mount's root cgroup: %s", procs);
}

int main(int argc, char** argv) {
  prog_init(argc, argv);
  mnt_require_container();
  mnt_mkdirs("/mnt/cg2");
  mnt_mount("cgroup2", "/mnt/cg2", "cgroup2", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL);
  check();
  prog_ready();
  prog_wait_go();
  check();
  prog_pass();
}
