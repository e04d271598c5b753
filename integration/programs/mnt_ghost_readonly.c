// Unlinked files on read-only mounts of a writable tmpfs (a read-only
// bind of it and the tmpfs itself remounted read-only at the mount): the
// ghosts are made through a writable copy of the mount on restore, the
// fds read the same bytes, the mounts stay read-only, and nothing is left
// behind on the filesystem.
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "mnt.h"
#include "prog.h"

static int names_in(const char* dir) {
  DIR* d = opendir(dir);
  PROG_CHECK(d != NULL, "opendir %s", dir);
  int n = 0;
  for (struct dirent* e; (e = readdir(d));) n += e->d_name[0] != '.' || strncmp(e->d_name, ".cryo", 5) == 0;
  closedir(d);
  return n;
}

static void check_ro(const char* dir) {
  struct statvfs sv;
  PROG_CHECK(statvfs(dir, &sv) == 0 && (sv.f_flag & ST_RDONLY), "%s is not read-only", dir);
  char p[256];
  snprintf(p, sizeof p, "%s/new", dir);
  PROG_CHECK(open(p, O_WRONLY | O_CREAT, 0644) < 0 && errno == EROFS, "%s is writable", dir);
}

static void check_read(int fd, const char* want) {
  char buf[64] = {0};
  PROG_CHECK(pread(fd, buf, sizeof buf - 1, 0) == (ssize_t)strlen(want) && strcmp(buf, want) == 0, "read '%s'", buf);
  struct stat st;
  PROG_CHECK(fstat(fd, &st) == 0 && st.st_nlink == 0 && (st.st_mode & 0777) == 0604, "mode %o links %lu",
             st.st_mode & 0777, (unsigned long)st.st_nlink);
}

int main(int argc, char** argv) {
  prog_init(argc, argv);
  mnt_require_container();
  mnt_mkdirs("/mnt/gr-src");
  mnt_mkdirs("/mnt/gr-ro");
  mnt_mount("cryo-gr", "/mnt/gr-src", "tmpfs", 0, "size=1m");
  mnt_mkdirs("/mnt/gr-src/sub");
  mnt_mount("/mnt/gr-src", "/mnt/gr-ro", NULL, MS_BIND, NULL);
  mnt_write("/mnt/gr-ro/sub/a", "on the bind");
  mnt_write("/mnt/gr-src/b", "on the source");
  // Read-only opens: a mount written through cannot become read-only.
  PROG_CHECK(chmod("/mnt/gr-ro/sub/a", 0604) == 0 && chmod("/mnt/gr-src/b", 0604) == 0, "chmod");
  int a = open("/mnt/gr-ro/sub/a", O_RDONLY);
  int b = open("/mnt/gr-src/b", O_RDONLY);
  PROG_CHECK(a >= 0 && b >= 0, "open");
  PROG_CHECK(unlink("/mnt/gr-ro/sub/a") == 0 && unlink("/mnt/gr-src/b") == 0, "unlink");
  mnt_mount(NULL, "/mnt/gr-ro", NULL, MS_REMOUNT | MS_BIND | MS_RDONLY, NULL);
  mnt_mount(NULL, "/mnt/gr-src", NULL, MS_REMOUNT | MS_BIND | MS_RDONLY, NULL);
  int before = names_in("/mnt/gr-src") + names_in("/mnt/gr-src/sub");
  prog_ready();
  prog_wait_go();

  check_read(a, "on the bind");
  check_read(b, "on the source");
  check_ro("/mnt/gr-ro");
  check_ro("/mnt/gr-src");
  PROG_CHECK(names_in("/mnt/gr-src") + names_in("/mnt/gr-src/sub") == before, "a ghost was left behind");
  prog_pass();
}
