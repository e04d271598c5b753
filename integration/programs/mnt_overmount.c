// Two tmpfs stacked at one mount point, and a tmpfs inside a tmpfs
// inside a bind: after restore the top one is what the path shows, and
// once it is unmounted the one beneath has its own file; the nested
// mounts keep their files at their places.
#define _GNU_SOURCE
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include "mnt.h"
#include "prog.h"

static void check_nested(void) {
  char buf[64];
  mnt_read("/mnt/ov-n/a/inner", buf, sizeof buf);
  PROG_CHECK(strcmp(buf, "inner\n") == 0, "inner: '%s'", buf);
  mnt_read("/mnt/ov-n/a/b/innermost", buf, sizeof buf);
  PROG_CHECK(strcmp(buf, "innermost\n") == 0, "innermost: '%s'", buf);
  mnt_read("/mnt/ov-nb/innermost", buf, sizeof buf);
  PROG_CHECK(strcmp(buf, "innermost\n") == 0, "the bind of the innermost: '%s'", buf);
}

int main(int argc, char** argv) {
  prog_init(argc, argv);
  mnt_require_container();
  mnt_mkdirs("/mnt/ov");
  mnt_mount("cryo-low", "/mnt/ov", "tmpfs", 0, "size=1m");
  mnt_write("/mnt/ov/low", "beneath\n");
  mnt_mount("cryo-high", "/mnt/ov", "tmpfs", 0, "size=1m");
  mnt_write("/mnt/ov/high", "on top\n");
  mnt_mkdirs("/mnt/ov-n");
  mnt_mount("cryo-n1", "/mnt/ov-n", "tmpfs", 0, "size=1m");
  mnt_mkdirs("/mnt/ov-n/a");
  mnt_mount("cryo-n2", "/mnt/ov-n/a", "tmpfs", 0, "size=1m");
  mnt_write("/mnt/ov-n/a/inner", "inner\n");
  mnt_mkdirs("/mnt/ov-n/a/b");
  mnt_mount("cryo-n3", "/mnt/ov-n/a/b", "tmpfs", 0, "size=1m");
  mnt_write("/mnt/ov-n/a/b/innermost", "innermost\n");
  mnt_mkdirs("/mnt/ov-nb");
  mnt_mount("/mnt/ov-n/a/b", "/mnt/ov-nb", NULL, MS_BIND, NULL);
  check_nested();
  prog_ready();
  prog_wait_go();
  check_nested();
  struct stat st;
  PROG_CHECK(stat("/mnt/ov/high", &st) == 0 && stat("/mnt/ov/low", &st) != 0, "the top mount is not on top");
  PROG_CHECK(umount2("/mnt/ov", 0) == 0, "unmount the top");
  char buf[64];
  mnt_read("/mnt/ov/low", buf, sizeof buf);
  PROG_CHECK(strcmp(buf, "beneath\n") == 0, "the mount beneath: '%s'", buf);
  prog_pass();
}
