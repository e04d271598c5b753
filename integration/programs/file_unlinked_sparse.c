// An unlinked sparse file, held by two opens (one write-only), a private
// mapping and an O_TMPFILE beside it: after restore both opens are the one
// inode again, the data is back where it was and the holes are holes
// (head, middle and tail; the blocks it takes unchanged), the mapping
// still sees what is written through the fd (its pages were never
// copied), and the odd mode (set-id bits) and mtime survive.
#define _GNU_SOURCE
#include <fcntl.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "prog.h"

enum { kPage = 4096, kPages = 64 };

static void fill(char* buf, int page) {
  for (int i = 0; i < kPage; i++) buf[i] = (char)(page * 31 + i * 7 + 1);
}

int main(int argc, char** argv) {
  prog_init(argc, argv);
  int fd = open("sparse.dat", O_RDWR | O_CREAT | O_TRUNC, 0600);
  PROG_CHECK(fd >= 0, "open");
  int wo = open("sparse.dat", O_WRONLY);
  PROG_CHECK(wo >= 0, "open write-only");
  // Data at pages 2, 3, 10 and 40; holes around them, to the end.
  static const int data_pages[] = {2, 3, 10, 40};
  char buf[kPage];
  for (size_t i = 0; i < sizeof data_pages / sizeof *data_pages; i++) {
    fill(buf, data_pages[i]);
    PROG_CHECK(pwrite(fd, buf, kPage, (off_t)data_pages[i] * kPage) == kPage, "write");
  }
  PROG_CHECK(ftruncate(fd, (off_t)kPages * kPage) == 0, "truncate");
  PROG_CHECK(fsync(fd) == 0, "fsync");
  bool holes = lseek(fd, 0, SEEK_DATA) == 2 * kPage;
  char* map = mmap(NULL, kPage, PROT_READ, MAP_PRIVATE, fd, 10 * kPage);
  PROG_CHECK(map != MAP_FAILED, "mmap");
  PROG_CHECK(fchmod(fd, 06604) == 0, "chmod");
  struct timespec times[2] = {{1000, 0}, {123456, 0}};
  PROG_CHECK(futimens(fd, times) == 0, "utimens");
  int tmp = open(".", O_RDWR | O_TMPFILE, 0640);
  PROG_CHECK(tmp >= 0, "O_TMPFILE");
  PROG_CHECK(write(tmp, "tmpfile", 7) == 7, "write tmpfile");
  PROG_CHECK(unlink("sparse.dat") == 0, "unlink");
  struct stat before;
  PROG_CHECK(fstat(fd, &before) == 0, "fstat");
  prog_ready();
  prog_wait_go();

  struct stat st, st2;
  PROG_CHECK(fstat(fd, &st) == 0 && fstat(wo, &st2) == 0, "fstat after");
  PROG_CHECK(st.st_ino == st2.st_ino && st.st_dev == st2.st_dev, "the two opens are two files now");
  PROG_CHECK(st.st_nlink == 0, "the file has links again");
  PROG_CHECK(st.st_size == (off_t)kPages * kPage, "size %ld", (long)st.st_size);
  PROG_CHECK((st.st_mode & 07777) == 06604, "mode %o", st.st_mode & 07777);
  PROG_CHECK(st.st_mtim.tv_sec == 123456, "mtime %ld", (long)st.st_mtim.tv_sec);
  PROG_CHECK((fcntl(wo, F_GETFL) & O_ACCMODE) == O_WRONLY, "write-only open changed its mode");
  for (int p = 0; p < kPages; p++) {
    char want[kPage], got[kPage];
    memset(want, 0, sizeof want);
    for (size_t i = 0; i < sizeof data_pages / sizeof *data_pages; i++)
      if (data_pages[i] == p) fill(want, p);
    PROG_CHECK(pread(fd, got, kPage, (off_t)p * kPage) == kPage, "read page %d", p);
    PROG_CHECK(memcmp(want, got, kPage) == 0, "page %d changed", p);
  }
  if (holes) {
    PROG_CHECK(lseek(fd, 0, SEEK_DATA) == 2 * kPage, "head hole gone");
    PROG_CHECK(lseek(fd, 2 * kPage, SEEK_HOLE) == 4 * kPage, "hole after page 3 gone");
    PROG_CHECK(lseek(fd, 4 * kPage, SEEK_DATA) == 10 * kPage, "hole before page 10 gone");
    PROG_CHECK(lseek(fd, 40 * kPage, SEEK_HOLE) == 41 * kPage, "tail hole gone");
    PROG_CHECK(st.st_blocks == before.st_blocks, "blocks %ld, were %ld", (long)st.st_blocks, (long)before.st_blocks);
  }
  // The mapping and the fd share the inode: a write shows through.
  fill(buf, 10);
  PROG_CHECK(memcmp(map, buf, kPage) == 0, "mapping changed");
  PROG_CHECK(pwrite(wo, "XYZ", 3, 10 * kPage) == 3, "write through the write-only open");
  PROG_CHECK(memcmp(map, "XYZ", 3) == 0, "the mapping is of another file now");
  char t[8] = {0};
  PROG_CHECK(pread(tmp, t, 7, 0) == 7 && memcmp(t, "tmpfile", 7) == 0, "O_TMPFILE content");
  PROG_CHECK(fstat(tmp, &st) == 0 && st.st_nlink == 0 && (st.st_mode & 0777) == 0640, "O_TMPFILE file");
  PROG_CHECK(access("sparse.dat", F_OK) != 0, "a file by the old name exists");
  prog_pass();
}
