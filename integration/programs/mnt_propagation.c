// Propagation between the container's mounts: a shared tmpfs, a peer of
// it, a slave of it, a private bind of it. After restore a mount made
// under the shared one appears under its peer and its slave but not the
// private bind, and one made under the slave stays there.
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

static void group_of(const char* mp, const char* kind, char* out, size_t n) {
  char line[1024];
  PROG_CHECK(mnt_line(mp, line, sizeof line), "no mount at %s", mp);
  const char* g = strstr(line, kind);
  PROG_CHECK(g, "%s has no %s group: %s", mp, kind, line);
  sscanf(g, "%*[a-z]:%15s", out);
  (void)n;
}

static void check_groups(void) {
  char a[16] = "", b[16] = "", c[16] = "";
  group_of("/mnt/pr-s", "shared:", a, sizeof a);
  group_of("/mnt/pr-peer", "shared:", b, sizeof b);
  group_of("/mnt/pr-slave", "master:", c, sizeof c);
  PROG_CHECK(strcmp(a, b) == 0 && strcmp(a, c) == 0, "groups: shared %s, peer %s, slave of %s", a, b, c);
  char line[1024];
  PROG_CHECK(mnt_line("/mnt/pr-priv", line, sizeof line) && !strstr(line, "shared:") && !strstr(line, "master:"),
             "private: %s", line);
}

int main(int argc, char** argv) {
  prog_init(argc, argv);
  mnt_require_container();
  const char* dirs[] = {"/mnt/pr-s", "/mnt/pr-peer", "/mnt/pr-slave", "/mnt/pr-priv"};
  for (int i = 0; i < 4; i++) mnt_mkdirs(dirs[i]);
  mnt_mount("cryo-pr", "/mnt/pr-s", "tmpfs", 0, "size=1m");
  mnt_mkdirs("/mnt/pr-s/x");
  mnt_mkdirs("/mnt/pr-s/y");
  mnt_mount(NULL, "/mnt/pr-s", NULL, MS_SHARED, NULL);
  mnt_mount("/mnt/pr-s", "/mnt/pr-peer", NULL, MS_BIND, NULL);
  mnt_mount("/mnt/pr-s", "/mnt/pr-slave", NULL, MS_BIND, NULL);
  mnt_mount(NULL, "/mnt/pr-slave", NULL, MS_SLAVE, NULL);
  mnt_mount("/mnt/pr-s", "/mnt/pr-priv", NULL, MS_BIND, NULL);
  mnt_mount(NULL, "/mnt/pr-priv", NULL, MS_PRIVATE, NULL);
  check_groups();
  prog_ready();
  prog_wait_go();
  check_groups();
  mnt_mount("cryo-x", "/mnt/pr-s/x", "tmpfs", 0, "size=1m");
  mnt_write("/mnt/pr-s/x/seen", "x\n");
  PROG_CHECK(has("/mnt/pr-peer/x/seen"), "a mount under the shared one is not under its peer");
  PROG_CHECK(has("/mnt/pr-slave/x/seen"), "a mount under the master is not under its slave");
  PROG_CHECK(!has("/mnt/pr-priv/x/seen"), "a mount reached the private bind");
  mnt_mount("cryo-y", "/mnt/pr-slave/y", "tmpfs", 0, "size=1m");
  mnt_write("/mnt/pr-slave/y/seen", "y\n");
  PROG_CHECK(!has("/mnt/pr-s/y/seen"), "a mount under the slave went back to its master");
  prog_pass();
}
