// An inotify instance (IN_NONBLOCK) with two watches: IN_CREATE|IN_DELETE
// on directory "dir-a", IN_MODIFY on file "dir-b/file". A first watch on
// the prog dir was added and removed, so the two have wds 2 and 3, not 1
// and 2. Before the dump an event is made and read (the queue is empty at
// dump time: cryo refuses to dump unread inotify events, which cannot be
// read without taking them away). After restore:
//   - nothing is queued (the placeholder watches cryo uses leave nothing);
//   - creating and deleting "dir-a/new" gives IN_CREATE and IN_DELETE on
//     dir-a's wd, writing to "dir-b/file" IN_MODIFY on its wd: the wds are
//     the ones from before the dump, and the masks are the same;
//   - adding the watches again (IN_MASK_ADD) returns the same wds, so
//     they are on the same inodes.
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "prog.h"

static int in;  // the inotify fd

// Reads one event (waiting up to 5 s) and checks it is wd/mask/name
// (name NULL: an event without a name).
static void expect_event(int wd, uint32_t mask, const char* name, const char* what) {
  // One event per read: the buffer takes one with a short name, and read()
  // returns whole events only.
  _Alignas(struct inotify_event) char buf[sizeof(struct inotify_event) + 64];
  struct pollfd p = {.fd = in, .events = POLLIN};
  PROG_CHECK(poll(&p, 1, 5000) == 1, "%s: no event", what);
  ssize_t n = read(in, buf, sizeof buf);
  PROG_CHECK(n >= (ssize_t)sizeof(struct inotify_event), "%s: read", what);
  const struct inotify_event* ev = (const struct inotify_event*)buf;
  PROG_CHECK(n == (ssize_t)(sizeof *ev + ev->len), "%s: read %zd bytes, the event has %zu", what, n,
             sizeof *ev + ev->len);
  PROG_CHECK(ev->wd == wd && ev->mask == mask, "%s: wd %d mask %#x, want wd %d mask %#x", what, ev->wd, ev->mask, wd,
             mask);
  if (name == NULL)
    PROG_CHECK(ev->len == 0, "%s: event has a name '%.*s'", what, (int)ev->len, ev->name);
  else
    PROG_CHECK(ev->len > 0 && strcmp(ev->name, name) == 0, "%s: name '%.*s', want '%s'", what, (int)ev->len,
               ev->len ? ev->name : "", name);
}

static void expect_no_event(const char* what) {
  char buf[512];
  errno = 0;
  PROG_CHECK(read(in, buf, sizeof buf) < 0 && errno == EAGAIN, "%s: an unexpected event (or not nonblocking)", what);
}

static void touch(const char* path) {
  int fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
  PROG_CHECK(fd >= 0, "create %s", path);
  close(fd);
}

int main(int argc, char** argv) {
  prog_init(argc, argv);
  PROG_CHECK(mkdir("dir-a", 0755) == 0 && mkdir("dir-b", 0755) == 0, "mkdir");
  touch("dir-b/file");
  in = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
  PROG_CHECK(in >= 0, "inotify_init1");
  int wd0 = inotify_add_watch(in, ".", IN_CREATE);
  int wda = inotify_add_watch(in, "dir-a", IN_CREATE | IN_DELETE);
  int wdb = inotify_add_watch(in, "dir-b/file", IN_MODIFY);
  PROG_CHECK(wd0 >= 0 && wda >= 0 && wdb >= 0, "inotify_add_watch");
  PROG_CHECK(inotify_rm_watch(in, wd0) == 0, "inotify_rm_watch");
  expect_event(wd0, IN_IGNORED, NULL, "before the dump: removing the first watch");
  PROG_CHECK(wda != 1 && wdb != 1, "wds %d and %d: the removed watch had %d", wda, wdb, wd0);
  touch("dir-a/seen");
  expect_event(wda, IN_CREATE, "seen", "before the dump: creating dir-a/seen");
  int queued = 0;
  PROG_CHECK(ioctl(in, FIONREAD, &queued) == 0 && queued == 0, "before the dump: %d bytes still queued", queued);
  prog_ready();
  prog_wait_go();

  PROG_CHECK(ioctl(in, FIONREAD, &queued) == 0 && queued == 0, "after go: %d bytes queued, want none", queued);
  touch("dir-a/new");
  expect_event(wda, IN_CREATE, "new", "creating dir-a/new");
  PROG_CHECK(unlink("dir-a/new") == 0, "unlink dir-a/new");
  expect_event(wda, IN_DELETE, "new", "deleting dir-a/new");
  int fd = open("dir-b/file", O_WRONLY | O_CLOEXEC);
  PROG_CHECK(fd >= 0 && write(fd, "x", 1) == 1, "write dir-b/file");
  close(fd);
  expect_event(wdb, IN_MODIFY, NULL, "writing dir-b/file");
  touch("dir-b/other");          // dir-b itself is not watched
  touch("created-in-prog-dir");  // nor is the prog dir any more
  expect_no_event("after the new events");
  int again_a = inotify_add_watch(in, "dir-a", IN_CREATE | IN_MASK_ADD);
  int again_b = inotify_add_watch(in, "dir-b/file", IN_MODIFY | IN_MASK_ADD);
  PROG_CHECK(again_a == wda && again_b == wdb, "watching again gave wds %d %d, want the existing %d %d", again_a,
             again_b, wda, wdb);
  prog_pass();
}
