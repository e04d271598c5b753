// The mount tree LXC makes for /proc/sys: a bind of a/b parked
// elsewhere, a read-only bind of a over a, then the parked bind moved
// back onto a/b; mountinfo then lists a/b before its parent. Then, as
// LXC leaves it, every mount shared, the root too (pivot_root refuses a
// shared new root). After restore a/b is still on the read-only a and
// writable, and the root is still shared.
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <unistd.h>

#include "mnt.h"
#include "prog.h"

static void ids_of(const char* mp, int* id, int* parent) {
  char line[1024];
  PROG_CHECK(mnt_line(mp, line, sizeof line), "no mount at %s", mp);
  PROG_CHECK(sscanf(line, "%d %d", id, parent) == 2, "mountinfo line: %s", line);
}

// Whether the mount with id `first` comes before the one with id `second`
// in this process's mountinfo.
static bool listed_before(int first, int second) {
  static char buf[65536];
  mnt_read("/proc/self/mountinfo", buf, sizeof buf);
  int pos_first = -1, pos_second = -1, n = 0;
  for (char* l = strtok(buf, "\n"); l; l = strtok(NULL, "\n"), n++) {
    int id = 0;
    if (sscanf(l, "%d", &id) != 1) continue;
    if (id == first) pos_first = n;
    if (id == second) pos_second = n;
  }
  return pos_first >= 0 && pos_second >= 0 && pos_first < pos_second;
}

static void check_tree(void) {
  int a = 0, a_parent = 0, b = 0, b_parent = 0;
  ids_of("/mnt/mv/a", &a, &a_parent);
  ids_of("/mnt/mv/a/b", &b, &b_parent);
  PROG_CHECK(b_parent == a, "/mnt/mv/a/b (%d) is on mount %d, not on /mnt/mv/a (%d)", b, b_parent, a);
  int fd = open("/mnt/mv/a/b/file", O_WRONLY | O_CREAT | O_TRUNC, 0644);
  PROG_CHECK(fd >= 0, "/mnt/mv/a/b is not writable: %s", strerror(errno));
  close(fd);
  fd = open("/mnt/mv/a/file", O_WRONLY | O_CREAT | O_TRUNC, 0644);
  PROG_CHECK(fd < 0 && errno == EROFS, "/mnt/mv/a is not read-only");
  char line[1024];
  PROG_CHECK(mnt_line("/", line, sizeof line) && strstr(line, " shared:"), "the root is not shared: %s", line);
}

int main(int argc, char** argv) {
  prog_init(argc, argv);
  mnt_require_container();
  mnt_mkdirs("/mnt/mv");
  mnt_mount("cryo-mv", "/mnt/mv", "tmpfs", 0, "size=1m");
  mnt_mkdirs("/mnt/mv/a/b");
  mnt_mkdirs("/mnt/mv/parked");
  mnt_mount("/mnt/mv/a/b", "/mnt/mv/parked", NULL, MS_BIND, NULL);
  mnt_mount("/mnt/mv/a", "/mnt/mv/a", NULL, MS_BIND, NULL);
  mnt_mount(NULL, "/mnt/mv/a", NULL, MS_REMOUNT | MS_BIND | MS_RDONLY, NULL);
  mnt_mount("/mnt/mv/parked", "/mnt/mv/a/b", NULL, MS_MOVE, NULL);
  mnt_mount(NULL, "/", NULL, MS_REC | MS_SHARED, NULL);
  int a = 0, a_parent = 0, b = 0, b_parent = 0;
  ids_of("/mnt/mv/a", &a, &a_parent);
  ids_of("/mnt/mv/a/b", &b, &b_parent);
  PROG_CHECK(listed_before(b, a), "the moved mount is not listed before its parent: nothing to test");
  check_tree();
  prog_ready();
  prog_wait_go();
  check_tree();
  prog_pass();
}
