// A file whose name was unlinked while another link to it remains
// (--link-remap): after restore the fd is the same inode (same device
// and inode number), its new size and offset kept, the other link still
// sees every write, and no helper link is left behind.
#define _GNU_SOURCE
#include <dirent.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "prog.h"

// Names in `dir` other than those the program made.
static int helpers(const char* dir) {
  DIR* d = opendir(dir);
  int n = 0;
  for (struct dirent* e; d && (e = readdir(d));) n += strstr(e->d_name, "link_remap") != NULL;
  if (d) closedir(d);
  return n;
}

int main(int argc, char** argv) {
  prog_init(argc, argv);
  PROG_CHECK(mkdir("sub", 0700) == 0, "mkdir");
  int fd = open("sub/name.dat", O_RDWR | O_CREAT, 0644);
  PROG_CHECK(fd >= 0, "open");
  PROG_CHECK(link("sub/name.dat", "other.dat") == 0, "link");
  PROG_CHECK(unlink("sub/name.dat") == 0, "unlink");
  PROG_CHECK(write(fd, "0123456789", 10) == 10 && lseek(fd, 4, SEEK_SET) == 4, "write");
  struct stat before;
  PROG_CHECK(fstat(fd, &before) == 0, "fstat");
  prog_ready();
  prog_wait_go();

  struct stat st, other;
  PROG_CHECK(fstat(fd, &st) == 0 && stat("other.dat", &other) == 0, "stat after");
  PROG_CHECK(st.st_ino == before.st_ino && st.st_dev == before.st_dev, "another file now");
  PROG_CHECK(st.st_ino == other.st_ino, "the other link is another file");
  PROG_CHECK(st.st_nlink == 1, "links %lu", (unsigned long)st.st_nlink);
  PROG_CHECK(st.st_size == 10 && lseek(fd, 0, SEEK_CUR) == 4, "size or offset");
  PROG_CHECK(write(fd, "ab", 2) == 2, "write");
  char buf[16] = {0};
  int o = open("other.dat", O_RDONLY);
  PROG_CHECK(o >= 0 && read(o, buf, sizeof buf) == 10 && memcmp(buf, "0123ab6789", 10) == 0, "other link reads %s",
             buf);
  PROG_CHECK(helpers(".") == 0 && helpers("sub") == 0, "a helper link was left behind");
  prog_pass();
}
