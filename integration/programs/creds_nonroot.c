// A process that gave up root: distinct real/effective/saved uids and gids,
// supplementary groups, a reduced bounding set, a few effective and
// permitted capabilities, an inheritable and an ambient one. Every line of
// /proc/self/status about credentials is identical after restore.
#define _GNU_SOURCE
#include <grp.h>
#include <linux/capability.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "prog.h"

static void creds(char* out, size_t n) {
  FILE* f = fopen("/proc/self/status", "r");
  char line[256];
  out[0] = 0;
  while (fgets(line, sizeof line, f)) {
    if (!strncmp(line, "Uid:", 4) || !strncmp(line, "Gid:", 4) || !strncmp(line, "Groups:", 7) ||
        !strncmp(line, "Cap", 3) || !strncmp(line, "NoNewPrivs", 10))
      strncat(out, line, n - strlen(out) - 1);
  }
  fclose(f);
}

int main(int argc, char** argv) {
  prog_init(argc, argv);
  gid_t groups[] = {4, 5, 6};
  PROG_CHECK(setgroups(3, groups) == 0, "setgroups");
  PROG_CHECK(prctl(PR_CAPBSET_DROP, CAP_SYS_BOOT) == 0, "drop bounding");
  PROG_CHECK(setresgid(1, 2, 3) == 0, "setresgid");
  PROG_CHECK(prctl(PR_SET_KEEPCAPS, 1) == 0, "keepcaps");
  PROG_CHECK(setresuid(10, 11, 12) == 0, "setresuid");
  struct __user_cap_header_struct h = {_LINUX_CAPABILITY_VERSION_3, 0};
  struct __user_cap_data_struct d[2] = {{0}};
  unsigned keep = (1u << CAP_DAC_OVERRIDE) | (1u << CAP_DAC_READ_SEARCH) | (1u << CAP_NET_BIND_SERVICE) |
                  (1u << CAP_KILL);
  d[0].permitted = keep;
  d[0].effective = keep & ~(1u << CAP_KILL);
  d[0].inheritable = 1u << CAP_NET_BIND_SERVICE;
  PROG_CHECK(syscall(SYS_capset, &h, d) == 0, "capset");
  PROG_CHECK(prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, CAP_NET_BIND_SERVICE, 0, 0) == 0, "ambient");
  PROG_CHECK(prctl(PR_SET_KEEPCAPS, 0) == 0, "keepcaps off");
  static char before[2048], after[2048];
  creds(before, sizeof before);
  prog_ready();
  prog_wait_go();
  creds(after, sizeof after);
  PROG_CHECK(strcmp(before, after) == 0, "credentials changed:\nbefore:\n%s\nafter:\n%s", before, after);
  PROG_CHECK(prctl(PR_GET_KEEPCAPS) == 0, "keepcaps came back");
  prog_pass();
}
