// Bind mounts inside the container: a directory of a tmpfs bound at
// another place, a file bound over another file, and a bind of a bind.
// After restore each shows the same inode as its source, and a write
// through one is seen through the other.
#define _GNU_SOURCE
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include "mnt.h"
#include "prog.h"

static void same(const char* a, const char* b) {
  struct stat x, y;
  PROG_CHECK(stat(a, &x) == 0 && stat(b, &y) == 0, "stat %s / %s", a, b);
  PROG_CHECK(x.st_ino == y.st_ino && x.st_dev == y.st_dev, "%s and %s are different files", a, b);
}

static void check(const char* stamp) {
  char buf[256], want[256];
  same("/mnt/bsrc/dir", "/mnt/bdir");
  same("/mnt/bdir", "/mnt/bdir2");
  same("/mnt/bsrc/file", "/mnt/bfile");
  snprintf(want, sizeof want, "%s\n", stamp);
  mnt_write("/mnt/bdir/note", want);
  mnt_read("/mnt/bsrc/dir/note", buf, sizeof buf);
  PROG_CHECK(strcmp(buf, want) == 0, "through the bind: '%s'", buf);
  mnt_read("/mnt/bfile", buf, sizeof buf);
  PROG_CHECK(strcmp(buf, "bound file\n") == 0, "bound file: '%s'", buf);
  char line[1024];
  PROG_CHECK(mnt_line("/mnt/bdir", line, sizeof line) && strstr(line, " /dir /mnt/bdir "), "bdir: %s", line);
}

int main(int argc, char** argv) {
  prog_init(argc, argv);
  mnt_require_container();
  mnt_mkdirs("/mnt/bsrc");
  mnt_mount("cryo-b", "/mnt/bsrc", "tmpfs", 0, "size=1m");
  mnt_mkdirs("/mnt/bsrc/dir");
  mnt_write("/mnt/bsrc/file", "bound file\n");
  mnt_mkdirs("/mnt/bdir");
  mnt_mkdirs("/mnt/bdir2");
  mnt_write("/mnt/bfile", "the file underneath\n");
  mnt_mount("/mnt/bsrc/dir", "/mnt/bdir", NULL, MS_BIND, NULL);
  mnt_mount("/mnt/bdir", "/mnt/bdir2", NULL, MS_BIND, NULL);
  mnt_mount("/mnt/bsrc/file", "/mnt/bfile", NULL, MS_BIND, NULL);
  check("before");
  prog_ready();
  prog_wait_go();
  check("after");
  prog_pass();
}
