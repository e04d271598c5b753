// An inotify watch (IN_MODIFY|IN_CLOSE_WRITE) on a file that is then
// unlinked while an O_RDWR fd still holds it, next to a watch on its
// directory (IN_CREATE). After restore the watch is on the inode the fd holds:
// a write through the fd gives IN_MODIFY and closing it IN_CLOSE_WRITE on
// the file's wd, nothing else is queued first, and creating a file in the
// directory gives IN_CREATE with its name on the dir's wd.
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>

#include "prog.h"

static int in;

static void expect_event(int wd, uint32_t mask, const char* name, const char* what) {
  struct pollfd p = {.fd = in, .events = POLLIN};
  PROG_CHECK(poll(&p, 1, 5000) == 1, "%s: no event", what);
  char buf[sizeof(struct inotify_event) + 64] __attribute__((aligned(8)));
  ssize_t n = read(in, buf, sizeof buf);
  PROG_CHECK(n >= (ssize_t)sizeof(struct inotify_event), "%s: read", what);
  struct inotify_event* e = (struct inotify_event*)buf;
  PROG_CHECK(e->wd == wd && e->mask == mask, "%s: event wd %d mask %#x, want wd %d mask %#x", what, e->wd, e->mask,
             wd, mask);
  if (name) PROG_CHECK(e->len > 0 && strcmp(e->name, name) == 0, "%s: name %s", what, e->len ? e->name : "");
}

int main(int argc, char** argv) {
  prog_init(argc, argv);
  in = inotify_init1(IN_NONBLOCK);
  PROG_CHECK(in >= 0, "inotify_init1");
  PROG_CHECK(mkdir("d", 0755) == 0, "mkdir");
  int fd = open("d/watched", O_RDWR | O_CREAT, 0644);
  PROG_CHECK(fd >= 0 && write(fd, "x", 1) == 1, "open");
  int dir_wd = inotify_add_watch(in, "d", IN_CREATE);
  int file_wd = inotify_add_watch(in, "d/watched", IN_MODIFY | IN_CLOSE_WRITE);
  PROG_CHECK(dir_wd >= 0 && file_wd >= 0, "inotify_add_watch");
  PROG_CHECK(unlink("d/watched") == 0, "unlink");
  char drain[4096];
  while (read(in, drain, sizeof drain) > 0) {
  }
  prog_ready();
  prog_wait_go();
  struct stat st;
  PROG_CHECK(fstat(fd, &st) == 0 && st.st_nlink == 0, "the file has links again");
  PROG_CHECK(write(fd, "y", 1) == 1, "write");
  expect_event(file_wd, IN_MODIFY, NULL, "write through the fd");
  PROG_CHECK(close(fd) == 0, "close");
  expect_event(file_wd, IN_CLOSE_WRITE, NULL, "close of the fd");
  int n = open("d/new", O_WRONLY | O_CREAT, 0644);
  PROG_CHECK(n >= 0, "create");
  expect_event(dir_wd, IN_CREATE, "new", "create in the directory");
  prog_pass();
}
