// Per-mount flags on binds and superblock flags on a fresh mount:
// read-only, nosuid, nodev, noexec, noatime on a bind; a read-only tmpfs
// superblock; a nodiratime+strictatime bind. After restore statvfs and
// mountinfo report the same, and a write is refused where it was.
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "mnt.h"
#include "prog.h"

static unsigned long flags_of(const char* p) {
  struct statvfs sv;
  PROG_CHECK(statvfs(p, &sv) == 0, "statvfs %s", p);
  return sv.f_flag;
}

static void check(void) {
  unsigned long want = ST_RDONLY | ST_NOSUID | ST_NODEV | ST_NOEXEC | ST_NOATIME;
  PROG_CHECK((flags_of("/mnt/fl-ro") & want) == want, "/mnt/fl-ro flags %#lx", flags_of("/mnt/fl-ro"));
  PROG_CHECK(open("/mnt/fl-ro/new", O_WRONLY | O_CREAT, 0644) < 0 && errno == EROFS, "/mnt/fl-ro is writable");
  PROG_CHECK(!(flags_of("/mnt/fl-src") & ST_RDONLY), "the source of the read-only bind became read-only");
  char line[1024];
  PROG_CHECK(mnt_line("/mnt/fl-sb", line, sizeof line) && strstr(line, " - tmpfs cryo-sb ro"), "sb: %s", line);
  PROG_CHECK(open("/mnt/fl-sb/new", O_WRONLY | O_CREAT, 0644) < 0 && errno == EROFS, "/mnt/fl-sb is writable");
  char buf[64];
  mnt_read("/mnt/fl-sb/kept", buf, sizeof buf);
  PROG_CHECK(strcmp(buf, "written before ro\n") == 0, "read-only tmpfs lost its file: '%s'", buf);
  PROG_CHECK(mnt_line("/mnt/fl-at", line, sizeof line) && strstr(line, "nodiratime") && !strstr(line, "relatime"),
             "atime: %s", line);
}

int main(int argc, char** argv) {
  prog_init(argc, argv);
  mnt_require_container();
  mnt_mkdirs("/mnt/fl-src");
  mnt_mkdirs("/mnt/fl-ro");
  mnt_mkdirs("/mnt/fl-sb");
  mnt_mkdirs("/mnt/fl-at");
  mnt_mount("cryo-fl", "/mnt/fl-src", "tmpfs", 0, "size=1m");
  mnt_mount("/mnt/fl-src", "/mnt/fl-ro", NULL, MS_BIND, NULL);
  mnt_mount(NULL, "/mnt/fl-ro", NULL, MS_REMOUNT | MS_BIND | MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC | MS_NOATIME, NULL);
  mnt_mount("cryo-sb", "/mnt/fl-sb", "tmpfs", 0, "size=1m");
  mnt_write("/mnt/fl-sb/kept", "written before ro\n");
  mnt_mount(NULL, "/mnt/fl-sb", NULL, MS_REMOUNT | MS_RDONLY, "size=1m");
  mnt_mount("/mnt/fl-src", "/mnt/fl-at", NULL, MS_BIND, NULL);
  mnt_mount(NULL, "/mnt/fl-at", NULL, MS_REMOUNT | MS_BIND | MS_NODIRATIME | MS_STRICTATIME, NULL);
  check();
  prog_ready();
  prog_wait_go();
  check();
  prog_pass();
}
