// Files whose path another mount now covers: a file and a directory open
// on a tmpfs, then a second tmpfs mounted over it with a file of the same
// name; a file of a bind mount over which a tmpfs went; and a file of a
// tmpfs whose directory a tmpfs mounted inside it covers. After restore
// each descriptor is still the file beneath (its contents, its offset, it
// takes writes) while the path shows the mount on top, and once that is
// unmounted the writes are there.
#define _GNU_SOURCE
#include <fcntl.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include "mnt.h"
#include "prog.h"

static void check_fd(int fd, off_t at, const char* want, const char* what) {
  char buf[64] = {0};
  PROG_CHECK(lseek(fd, 0, SEEK_CUR) == at, "%s: offset %ld, not %ld", what, (long)lseek(fd, 0, SEEK_CUR), (long)at);
  PROG_CHECK(pread(fd, buf, sizeof buf - 1, 0) == (ssize_t)strlen(want) && strcmp(buf, want) == 0,
             "%s: reads '%s', not '%s'", what, buf, want);
}

int main(int argc, char** argv) {
  prog_init(argc, argv);
  mnt_require_container();
  mnt_mkdirs("/mnt/hid");
  mnt_mount("cryo-under", "/mnt/hid", "tmpfs", 0, "size=1m");
  mnt_mkdirs("/mnt/hid/sub");
  mnt_write("/mnt/hid/sub/f", "beneath\n");
  int f = open("/mnt/hid/sub/f", O_RDWR);
  PROG_CHECK(f >= 0 && lseek(f, 3, SEEK_SET) == 3, "open the file beneath");
  int d = open("/mnt/hid/sub", O_RDONLY | O_DIRECTORY);
  PROG_CHECK(d >= 0, "open the directory beneath");
  mnt_mount("cryo-over", "/mnt/hid", "tmpfs", 0, "size=1m");
  mnt_mkdirs("/mnt/hid/sub");
  mnt_write("/mnt/hid/sub/f", "on top\n");
  mnt_mkdirs("/mnt/bsrc");
  mnt_write("/mnt/bsrc/g", "bound\n");
  mnt_mkdirs("/mnt/bnd");
  mnt_mount("/mnt/bsrc", "/mnt/bnd", NULL, MS_BIND, NULL);
  int g = open("/mnt/bnd/g", O_RDONLY);
  PROG_CHECK(g >= 0, "open the bound file");
  mnt_mount("cryo-over-bind", "/mnt/bnd", "tmpfs", 0, "size=1m");
  mnt_mkdirs("/mnt/hid2");
  mnt_mount("cryo-under2", "/mnt/hid2", "tmpfs", 0, "size=1m");
  mnt_mkdirs("/mnt/hid2/d");
  mnt_write("/mnt/hid2/d/h", "inside\n");
  int h = open("/mnt/hid2/d/h", O_RDONLY);
  PROG_CHECK(h >= 0, "open the file of the inner directory");
  mnt_mount("cryo-inner", "/mnt/hid2/d", "tmpfs", 0, "size=1m");
  prog_ready();
  prog_wait_go();

  check_fd(f, 3, "beneath\n", "the file beneath");
  check_fd(g, 0, "bound\n", "the file of the covered bind");
  check_fd(h, 0, "inside\n", "the file under a mount inside its own");
  struct stat a, b;
  PROG_CHECK(fstat(f, &a) == 0 && stat("/mnt/hid/sub/f", &b) == 0 && a.st_dev != b.st_dev,
             "the descriptor and the path are on one filesystem");
  char buf[64];
  mnt_read("/mnt/hid/sub/f", buf, sizeof buf);
  PROG_CHECK(strcmp(buf, "on top\n") == 0, "the path shows '%s'", buf);
  PROG_CHECK(faccessat(d, "f", R_OK, 0) == 0 && fstat(d, &a) == 0 && a.st_dev != b.st_dev,
             "the directory descriptor is not the one beneath");
  PROG_CHECK(pwrite(f, "BENEATH\n", 8, 0) == 8, "write through the descriptor");
  PROG_CHECK(umount2("/mnt/hid", 0) == 0 && umount2("/mnt/bnd", 0) == 0, "unmount the tops");
  mnt_read("/mnt/hid/sub/f", buf, sizeof buf);
  PROG_CHECK(strcmp(buf, "BENEATH\n") == 0, "beneath after the unmount: '%s'", buf);
  mnt_read("/mnt/bnd/g", buf, sizeof buf);
  PROG_CHECK(strcmp(buf, "bound\n") == 0, "the bind after the unmount: '%s'", buf);
  prog_pass();
}
