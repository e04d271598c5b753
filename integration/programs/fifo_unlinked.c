// A FIFO unlinked while open: a read-only and a write-only fd (the write
// end opened O_NONBLOCK once a reader was there) with 200 bytes queued,
// and a second FIFO unlinked with only an O_RDWR fd. After restore each
// fd is still a FIFO with no links, of its mode, the two fds are one FIFO
// (the bytes come out of the reader, then what the writer sends), and
// no file appeared in the prog dir.
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "prog.h"

#define LEN 200

static void check_fifo(int fd, mode_t mode, const char* what) {
  struct stat st;
  PROG_CHECK(fstat(fd, &st) == 0 && S_ISFIFO(st.st_mode), "%s: not a FIFO", what);
  PROG_CHECK(st.st_nlink == 0, "%s: %lu links", what, (unsigned long)st.st_nlink);
  PROG_CHECK((st.st_mode & 07777) == mode, "%s: mode %o", what, st.st_mode & 07777);
}

int main(int argc, char** argv) {
  prog_init(argc, argv);
  umask(0);
  PROG_CHECK(mkfifo("gone", 0640) == 0 && mkfifo("gone-rw", 0604) == 0, "mkfifo");
  int rd = open("gone", O_RDONLY | O_NONBLOCK);
  int wr = open("gone", O_WRONLY | O_NONBLOCK);
  int rw = open("gone-rw", O_RDWR);
  PROG_CHECK(rd >= 0 && wr >= 0 && rw >= 0, "open");
  char buf[2 * LEN];
  for (int i = 0; i < LEN; i++) buf[i] = (char)(i * 13 + 1);
  PROG_CHECK(write(wr, buf, LEN) == LEN && write(rw, "rw", 2) == 2, "write");
  PROG_CHECK(unlink("gone") == 0 && unlink("gone-rw") == 0, "unlink");
  prog_ready();
  prog_wait_go();
  check_fifo(rd, 0640, "reader");
  check_fifo(wr, 0640, "writer");
  check_fifo(rw, 0604, "O_RDWR fd");
  struct stat a, b;
  PROG_CHECK(fstat(rd, &a) == 0 && fstat(wr, &b) == 0 && a.st_ino == b.st_ino, "the two ends are two FIFOs");
  PROG_CHECK((fcntl(rd, F_GETFL) & O_ACCMODE) == O_RDONLY && (fcntl(wr, F_GETFL) & O_ACCMODE) == O_WRONLY &&
                 (fcntl(rw, F_GETFL) & O_ACCMODE) == O_RDWR,
             "access modes");
  char back[2 * LEN];
  PROG_CHECK(read(rd, back, sizeof back) == LEN && memcmp(back, buf, LEN) == 0, "queued bytes");
  PROG_CHECK(read(rd, back, sizeof back) < 0 && errno == EAGAIN, "more than was queued");
  PROG_CHECK(write(wr, "new", 3) == 3 && read(rd, back, sizeof back) == 3 && memcmp(back, "new", 3) == 0,
             "the writer does not reach the reader");
  PROG_CHECK(read(rw, back, sizeof back) == 2 && memcmp(back, "rw", 2) == 0, "O_RDWR FIFO bytes");
  // No ghost left behind under any name.
  DIR* d = opendir(".");
  PROG_CHECK(d != NULL, "opendir");
  struct dirent* e;
  while ((e = readdir(d)) != NULL)
    PROG_CHECK(strncmp(e->d_name, "gone", 4) != 0 && strstr(e->d_name, "ghost") == NULL, "left behind: %s",
               e->d_name);
  closedir(d);
  prog_pass();
}
