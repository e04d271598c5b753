// Removed directories and an unlinked device node: the cwd is a directory
// since removed, an fd holds another (its parent removed too), and a
// /dev/null node made here was unlinked while open. After restore the cwd
// reads as before (" (deleted)" and all) and is the same directory as the
// fd on it; the other fd is still a removed directory; the device fd is
// the same device with its mode.
#define _GNU_SOURCE
#include <fcntl.h>
#include <limits.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "prog.h"

int main(int argc, char** argv) {
  prog_init(argc, argv);
  PROG_CHECK(mkdir("gone", 0750) == 0 && mkdir("outer", 0700) == 0 && mkdir("outer/inner", 0711) == 0, "mkdir");
  int inner = open("outer/inner", O_RDONLY | O_DIRECTORY);
  PROG_CHECK(inner >= 0, "open inner");
  PROG_CHECK(rmdir("outer/inner") == 0 && rmdir("outer") == 0, "rmdir outer");
  PROG_CHECK(mknod("null.node", S_IFCHR | 0640, makedev(1, 3)) == 0, "mknod");
  int dev = open("null.node", O_RDWR);
  PROG_CHECK(dev >= 0, "open node");
  PROG_CHECK(unlink("null.node") == 0, "unlink node");
  int gone = open("gone", O_RDONLY | O_DIRECTORY);
  PROG_CHECK(gone >= 0, "open gone");
  PROG_CHECK(chdir("gone") == 0, "chdir");
  PROG_CHECK(rmdir("../gone") == 0, "rmdir gone");
  char cwd1[PATH_MAX] = {0}, cwd2[PATH_MAX] = {0};
  PROG_CHECK(readlink("/proc/self/cwd", cwd1, sizeof cwd1 - 1) > 0, "readlink cwd");
  prog_ready();
  prog_wait_go();

  PROG_CHECK(readlink("/proc/self/cwd", cwd2, sizeof cwd2 - 1) > 0, "readlink cwd after");
  PROG_CHECK(strcmp(cwd1, cwd2) == 0, "cwd %s, was %s", cwd2, cwd1);
  struct stat c, g, i, d;
  PROG_CHECK(stat(".", &c) == 0 && fstat(gone, &g) == 0, "stat cwd");
  PROG_CHECK(c.st_ino == g.st_ino && c.st_dev == g.st_dev, "cwd and its fd are two directories now");
  PROG_CHECK(S_ISDIR(g.st_mode) && g.st_nlink == 0 && (g.st_mode & 07777) == 0750, "cwd mode %o links %lu",
             g.st_mode, (unsigned long)g.st_nlink);
  PROG_CHECK(fstat(inner, &i) == 0 && S_ISDIR(i.st_mode) && i.st_nlink == 0, "inner is no removed directory");
  PROG_CHECK((i.st_mode & 07777) == 0711, "inner mode %o", i.st_mode & 07777);
  PROG_CHECK(fstat(dev, &d) == 0 && d.st_mode == (S_IFCHR | 0640) && d.st_rdev == makedev(1, 3) && d.st_nlink == 0,
             "device mode %o rdev %lx links %lu", d.st_mode, (unsigned long)d.st_rdev, (unsigned long)d.st_nlink);
  PROG_CHECK(write(dev, "x", 1) == 1, "write to the device");
  PROG_CHECK(access("../outer", F_OK) != 0 && access("../null.node", F_OK) != 0, "a removed name came back");
  prog_pass();
}
