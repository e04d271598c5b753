// A chain of propagation: A a shared tmpfs, B a bind of it made a slave
// and then shared again (its own peer group, whose only mount is a slave),
// C a bind of B made a slave of B's group. After restore B's master is
// A's group and C's master is B's; a mount under A reaches B and C, one
// under B reaches C but not A, one under C stays there.
#define _GNU_SOURCE
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include "mnt.h"
#include "prog.h"

static bool has(const char* p) {
  struct stat st;
  return stat(p, &st) == 0;
}

// The peer group number after `kind` in the mount's mountinfo line, "" if none.
static void group_of(const char* mp, const char* kind, char* out, size_t n) {
  char line[1024];
  PROG_CHECK(mnt_line(mp, line, sizeof line), "no mount at %s", mp);
  out[0] = '\0';
  const char* g = strstr(line, kind);
  if (g) snprintf(out, n, "%.*s", (int)strspn(g + strlen(kind), "0123456789"), g + strlen(kind));
}

static void check_groups(const char* when) {
  char a[16], b[16], bm[16], c[16], cm[16];
  group_of("/mnt/sc-a", "shared:", a, sizeof a);
  group_of("/mnt/sc-b", "shared:", b, sizeof b);
  group_of("/mnt/sc-b", "master:", bm, sizeof bm);
  group_of("/mnt/sc-c", "shared:", c, sizeof c);
  group_of("/mnt/sc-c", "master:", cm, sizeof cm);
  PROG_CHECK(a[0] && b[0] && strcmp(a, b) != 0, "%s: A shared:%s, B shared:%s", when, a, b);
  PROG_CHECK(strcmp(bm, a) == 0, "%s: B's master %s, want A's group %s", when, bm, a);
  PROG_CHECK(!c[0] && strcmp(cm, b) == 0, "%s: C shared:%s master:%s, want only a slave of B's group %s", when, c, cm, b);
}

int main(int argc, char** argv) {
  prog_init(argc, argv);
  mnt_require_container();
  const char* dirs[] = {"/mnt/sc-a", "/mnt/sc-b", "/mnt/sc-c"};
  for (int i = 0; i < 3; i++) mnt_mkdirs(dirs[i]);
  mnt_mount("cryo-sc", "/mnt/sc-a", "tmpfs", 0, "size=1m");
  mnt_mkdirs("/mnt/sc-a/x");
  mnt_mkdirs("/mnt/sc-a/y");
  mnt_mkdirs("/mnt/sc-a/z");
  mnt_mount(NULL, "/mnt/sc-a", NULL, MS_SHARED, NULL);
  mnt_mount("/mnt/sc-a", "/mnt/sc-b", NULL, MS_BIND, NULL);
  mnt_mount(NULL, "/mnt/sc-b", NULL, MS_SLAVE, NULL);
  mnt_mount(NULL, "/mnt/sc-b", NULL, MS_SHARED, NULL);
  mnt_mount("/mnt/sc-b", "/mnt/sc-c", NULL, MS_BIND, NULL);
  mnt_mount(NULL, "/mnt/sc-c", NULL, MS_SLAVE, NULL);
  check_groups("before the dump");
  prog_ready();
  prog_wait_go();
  check_groups("after restore");
  mnt_mount("cryo-x", "/mnt/sc-a/x", "tmpfs", 0, "size=1m");
  mnt_write("/mnt/sc-a/x/seen", "x\n");
  PROG_CHECK(has("/mnt/sc-b/x/seen") && has("/mnt/sc-c/x/seen"), "a mount under A did not reach B and C");
  mnt_mount("cryo-y", "/mnt/sc-b/y", "tmpfs", 0, "size=1m");
  mnt_write("/mnt/sc-b/y/seen", "y\n");
  PROG_CHECK(has("/mnt/sc-c/y/seen"), "a mount under B did not reach C");
  PROG_CHECK(!has("/mnt/sc-a/y/seen"), "a mount under B reached A");
  mnt_mount("cryo-z", "/mnt/sc-c/z", "tmpfs", 0, "size=1m");
  mnt_write("/mnt/sc-c/z/seen", "z\n");
  PROG_CHECK(!has("/mnt/sc-a/z/seen") && !has("/mnt/sc-b/z/seen"), "a mount under C went back up");
  prog_pass();
}
