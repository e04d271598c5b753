// A tmpfs of the program's own with options (size, mode, owner, inodes)
// and contents of every kind: directories, a file with data, owner, mode
// and times, a sparse file, a symlink, two hard links of one file, a FIFO
// and a device node. After restore: the same options and statfs figures,
// and every entry as it was.
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <sys/mount.h>

#include "mnt.h"
#include "prog.h"

#define T "/mnt/tmpfs"

static void check(void) {
  char buf[4096], line[1024];
  PROG_CHECK(mnt_line(T, line, sizeof line), "no mount at " T);
  PROG_CHECK(strstr(line, " - tmpfs cryo-t ") && strstr(line, "size=2048k") && strstr(line, "nr_inodes=500") &&
                 strstr(line, "mode=710") && strstr(line, "uid=65534") && strstr(line, "gid=65534"),
             "mount options: %s", line);
  struct statfs sf;
  PROG_CHECK(statfs(T, &sf) == 0 && sf.f_blocks == 512 && sf.f_files == 500, "statfs: %ld blocks, %ld inodes",
             (long)sf.f_blocks, (long)sf.f_files);
  struct stat st;
  PROG_CHECK(stat(T, &st) == 0 && (st.st_mode & 07777) == 0710 && st.st_uid == 65534, "root mode %o uid %d",
             st.st_mode & 07777, st.st_uid);
  mnt_read(T "/d1/d2/data", buf, sizeof buf);
  PROG_CHECK(strcmp(buf, "tmpfs data\n") == 0, "data: '%s'", buf);
  PROG_CHECK(stat(T "/d1/d2/data", &st) == 0 && (st.st_mode & 07777) == 0640 && st.st_uid == 1234 &&
                 st.st_gid == 4321 && st.st_mtim.tv_sec == 1000000000,
             "data: mode %o owner %d:%d mtime %ld", st.st_mode & 07777, st.st_uid, st.st_gid, (long)st.st_mtim.tv_sec);
  PROG_CHECK(stat(T "/sparse", &st) == 0 && st.st_size == (8 << 20) + 5, "sparse size %ld", (long)st.st_size);
  int fd = open(T "/sparse", O_RDONLY);
  PROG_CHECK(fd >= 0 && pread(fd, buf, 5, 8 << 20) == 5 && memcmp(buf, "tail\n", 5) == 0, "sparse tail");
  close(fd);
  PROG_CHECK(readlink(T "/link", buf, sizeof buf) == 10 && memcmp(buf, "d1/d2/data", 10) == 0, "symlink");
  struct stat a, b;
  PROG_CHECK(stat(T "/hard1", &a) == 0 && stat(T "/d1/hard2", &b) == 0 && a.st_ino == b.st_ino && a.st_nlink == 2,
             "hard links: %lu/%lu, %lu links", (unsigned long)a.st_ino, (unsigned long)b.st_ino,
             (unsigned long)a.st_nlink);
  PROG_CHECK(stat(T "/fifo", &st) == 0 && S_ISFIFO(st.st_mode), "fifo");
  PROG_CHECK(stat(T "/null", &st) == 0 && S_ISCHR(st.st_mode) && st.st_rdev == makedev(1, 3), "device node");
}

int main(int argc, char** argv) {
  prog_init(argc, argv);
  mnt_require_container();
  mnt_mkdirs(T);
  mnt_mount("cryo-t", T, "tmpfs", MS_NOSUID, "size=2m,nr_inodes=500,mode=0710,uid=65534,gid=65534");
  mnt_mkdirs(T "/d1/d2");
  mnt_write(T "/d1/d2/data", "tmpfs data\n");
  PROG_CHECK(chown(T "/d1/d2/data", 1234, 4321) == 0 && chmod(T "/d1/d2/data", 0640) == 0, "chown");
  struct timespec times[2] = {{1000000000, 0}, {1000000000, 0}};
  PROG_CHECK(utimensat(AT_FDCWD, T "/d1/d2/data", times, 0) == 0, "utimensat");
  int fd = open(T "/sparse", O_WRONLY | O_CREAT, 0600);
  PROG_CHECK(fd >= 0 && pwrite(fd, "tail\n", 5, 8 << 20) == 5, "sparse");
  close(fd);
  PROG_CHECK(symlink("d1/d2/data", T "/link") == 0, "symlink");
  mnt_write(T "/hard1", "linked\n");
  PROG_CHECK(link(T "/hard1", T "/d1/hard2") == 0, "link");
  PROG_CHECK(mkfifo(T "/fifo", 0600) == 0, "mkfifo");
  PROG_CHECK(mknod(T "/null", S_IFCHR | 0666, makedev(1, 3)) == 0, "mknod");
  check();
  prog_ready();
  prog_wait_go();
  check();
  prog_pass();
}
