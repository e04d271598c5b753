// Mounts reached only beneath another mount. (1) Under a shared tmpfs P,
// its /a/b is bound on /a (a peer of P) and a tmpfs mounted on /a/c: its
// copy propagates to P's /a/b/c, hidden under /a. After restore
// unmounting /a/c takes the hidden copy with it, so /a unmounts (EBUSY
// if the copy had landed on /a). (2) A tmpfs Q with its root bound on
// its own /b, then Q's /b bound on top of that: the top bind shows Q's
// /b, whose file it reads after restore.
#define _GNU_SOURCE
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include "mnt.h"
#include "prog.h"

static void check_roots(const char* when) {
  char line[1024];
  PROG_CHECK(mnt_line("/mnt/cv-q/b", line, sizeof line), "%s: no mount at /mnt/cv-q/b", when);
  PROG_CHECK(strstr(line, " /b /mnt/cv-q/b ") != NULL, "%s: the top bind: %s", when, line);
  char buf[64];
  mnt_read("/mnt/cv-q/b/in-b", buf, sizeof buf);
  PROG_CHECK(strcmp(buf, "b\n") == 0, "%s: the top bind's file: '%s'", when, buf);
}

int main(int argc, char** argv) {
  prog_init(argc, argv);
  mnt_require_container();
  mnt_mkdirs("/mnt/cv-p");
  mnt_mount("cryo-cv-p", "/mnt/cv-p", "tmpfs", 0, "size=1m");
  mnt_mount(NULL, "/mnt/cv-p", NULL, MS_SHARED, NULL);
  mnt_mkdirs("/mnt/cv-p/a/b/c");
  mnt_mount("/mnt/cv-p/a/b", "/mnt/cv-p/a", NULL, MS_BIND, NULL);
  mnt_mount("cryo-cv-c", "/mnt/cv-p/a/c", "tmpfs", 0, "size=1m");
  mnt_mkdirs("/mnt/cv-q");
  mnt_mount("cryo-cv-q", "/mnt/cv-q", "tmpfs", 0, "size=1m");
  mnt_mkdirs("/mnt/cv-q/b");
  mnt_write("/mnt/cv-q/b/in-b", "b\n");
  mnt_mount("/mnt/cv-q", "/mnt/cv-q/b", NULL, MS_BIND, NULL);
  mnt_mount("/mnt/cv-q/b/b", "/mnt/cv-q/b", NULL, MS_BIND, NULL);
  check_roots("before the dump");
  prog_ready();
  prog_wait_go();
  check_roots("after restore");
  PROG_CHECK(umount2("/mnt/cv-p/a/c", 0) == 0, "unmount /a/c");
  PROG_CHECK(umount2("/mnt/cv-p/a", 0) == 0, "unmount /a: a copy of /a/c is left on it");
  struct stat st;
  PROG_CHECK(stat("/mnt/cv-p/a/b/c", &st) == 0, "P's /a/b/c");
  PROG_CHECK(umount2("/mnt/cv-q/b", 0) == 0 && umount2("/mnt/cv-q/b", 0) == 0, "unmount the binds on /b");
  prog_pass();
}
