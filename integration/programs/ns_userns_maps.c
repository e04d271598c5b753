// A process in a user namespace of its own (0 -> 100000, 65536 ids) with
// mixed credentials inside (real and saved uid 0, effective 1000; gids
// likewise with 2000; groups 5 and 2000; no effective capabilities) and a
// file it made and gave to 1000:2000: after restore the maps are the same,
// so are its ids and capabilities as seen inside, and the file's owners.
#define _GNU_SOURCE
#include <grp.h>
#include <sys/prctl.h>

#include "prog.h"
#include "userns.h"

int main(int argc, char** argv) {
  prog_init(argc, argv);
  userns_enter();
  char uid_map[256], gid_map[256];
  userns_read("/proc/self/uid_map", uid_map, sizeof uid_map);
  userns_read("/proc/self/gid_map", gid_map, sizeof gid_map);
  PROG_CHECK(strstr(uid_map, "100000") != NULL, "uid_map is '%s'", uid_map);
  int fd = open("owned", O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0640);
  PROG_CHECK(fd >= 0, "create a file inside");
  PROG_CHECK(fchown(fd, 1000, 2000) == 0, "fchown 1000:2000 inside");
  gid_t groups[] = {5, 2000};
  PROG_CHECK(setgroups(2, groups) == 0, "setgroups");
  PROG_CHECK(setresgid(0, 2000, 0) == 0, "setresgid");
  PROG_CHECK(setresuid(0, 1000, 0) == 0, "setresuid");
  char creds[2048];
  userns_creds(creds, sizeof creds);
  prog_ready();
  prog_wait_go();
  char now[2048];
  userns_read("/proc/self/uid_map", now, sizeof now);
  PROG_CHECK(strcmp(now, uid_map) == 0, "uid_map is now '%s', was '%s'", now, uid_map);
  userns_read("/proc/self/gid_map", now, sizeof now);
  PROG_CHECK(strcmp(now, gid_map) == 0, "gid_map is now '%s', was '%s'", now, gid_map);
  userns_creds(now, sizeof now);
  PROG_CHECK(strcmp(now, creds) == 0, "credentials now:\n%s\nwere:\n%s", now, creds);
  uid_t r, e, s;
  PROG_CHECK(getresuid(&r, &e, &s) == 0 && r == 0 && e == 1000 && s == 0, "uids %u %u %u", r, e, s);
  struct stat st;
  PROG_CHECK(fstat(fd, &st) == 0 && st.st_uid == 1000 && st.st_gid == 2000, "the file's owners are %u:%u",
             st.st_uid, st.st_gid);
  // Root again (the saved uid): the namespace's capabilities come back.
  PROG_CHECK(setresuid(0, 0, 0) == 0, "back to uid 0 inside");
  PROG_CHECK(fchown(fd, 0, 0) == 0, "fchown as root inside");
  prog_pass();
}
