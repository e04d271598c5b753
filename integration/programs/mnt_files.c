// Open files of every path-named kind on the container's own mounts:
// cwd in a tmpfs directory, a file open at an offset, a shared mapping of
// a tmpfs file, a FIFO with data, a unix socket bound in a tmpfs with a
// connected client, and an unlinked file. After restore each is the file
// at its path again, with its state.
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <sys/mount.h>

#include "mnt.h"
#include "prog.h"

#define T "/mnt/files"

int main(int argc, char** argv) {
  prog_init(argc, argv);
  mnt_require_container();
  mnt_mkdirs(T);
  mnt_mount("cryo-files", T, "tmpfs", 0, "size=4m");
  mnt_mkdirs(T "/work");
  PROG_CHECK(chdir(T "/work") == 0, "chdir");
  mnt_write(T "/data", "0123456789");
  int fd = open(T "/data", O_RDWR);
  PROG_CHECK(fd >= 0 && lseek(fd, 4, SEEK_SET) == 4, "open data");
  int mfd = open(T "/mapped", O_RDWR | O_CREAT, 0600);
  PROG_CHECK(mfd >= 0 && ftruncate(mfd, 4096) == 0, "mapped");
  char* map = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, mfd, 0);
  PROG_CHECK(map != MAP_FAILED, "mmap");
  close(mfd);
  strcpy(map, "through the mapping");
  PROG_CHECK(mkfifo(T "/fifo", 0600) == 0, "mkfifo");
  int fr = open(T "/fifo", O_RDONLY | O_NONBLOCK), fw = open(T "/fifo", O_WRONLY);
  PROG_CHECK(fr >= 0 && fw >= 0 && write(fw, "in the fifo", 11) == 11, "fifo");
  int srv = socket(AF_UNIX, SOCK_STREAM, 0), cli = socket(AF_UNIX, SOCK_STREAM, 0);
  struct sockaddr_un a = {.sun_family = AF_UNIX};
  strcpy(a.sun_path, T "/sock");
  PROG_CHECK(bind(srv, (struct sockaddr*)&a, sizeof a) == 0 && listen(srv, 4) == 0, "bind");
  PROG_CHECK(connect(cli, (struct sockaddr*)&a, sizeof a) == 0, "connect");
  int acc = accept(srv, NULL, NULL);
  PROG_CHECK(acc >= 0 && write(cli, "over the socket", 15) == 15, "accept");
  int gfd = open(T "/ghost", O_RDWR | O_CREAT, 0600);
  PROG_CHECK(gfd >= 0 && write(gfd, "unlinked", 8) == 8 && unlink(T "/ghost") == 0, "ghost");
  prog_ready();
  prog_wait_go();
  char cwd[256], buf[64] = "";
  PROG_CHECK(getcwd(cwd, sizeof cwd) && strcmp(cwd, T "/work") == 0, "cwd %s", cwd);
  PROG_CHECK(read(fd, buf, 6) == 6 && memcmp(buf, "456789", 6) == 0, "offset lost: '%.6s'", buf);
  // (A tmpfs comes back with new inode numbers, as under CRIU: the fd
  // and the path must name one file.)
  struct stat st, data_st;
  PROG_CHECK(fstat(fd, &data_st) == 0 && stat(T "/data", &st) == 0 && st.st_ino == data_st.st_ino &&
                 st.st_dev == data_st.st_dev,
             "the open file is not the one at its path");
  strcpy(map, "written after restore");
  int rfd = open(T "/mapped", O_RDONLY);
  PROG_CHECK(rfd >= 0 && read(rfd, buf, 21) == 21 && memcmp(buf, "written after restore", 21) == 0,
             "the mapping is not the file's: '%.21s'", buf);
  memset(buf, 0, sizeof buf);
  PROG_CHECK(read(fr, buf, sizeof buf) == 11 && memcmp(buf, "in the fifo", 11) == 0, "fifo: '%s'", buf);
  memset(buf, 0, sizeof buf);
  PROG_CHECK(read(acc, buf, 15) == 15 && memcmp(buf, "over the socket", 15) == 0, "socket: '%s'", buf);
  struct sockaddr_un got;
  socklen_t len = sizeof got;
  PROG_CHECK(getsockname(srv, (struct sockaddr*)&got, &len) == 0 && strcmp(got.sun_path, T "/sock") == 0,
             "socket name %s", got.sun_path);
  int cli2 = socket(AF_UNIX, SOCK_STREAM, 0);
  PROG_CHECK(connect(cli2, (struct sockaddr*)&a, sizeof a) == 0, "connect again to the listener");
  memset(buf, 0, sizeof buf);
  PROG_CHECK(pread(gfd, buf, 8, 0) == 8 && memcmp(buf, "unlinked", 8) == 0, "unlinked file: '%s'", buf);
  PROG_CHECK(fstat(gfd, &st) == 0 && st.st_nlink == 0, "the unlinked file has %lu links", (unsigned long)st.st_nlink);
  prog_pass();
}
