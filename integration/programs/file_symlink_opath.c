// Symlinks held open with O_PATH|O_NOFOLLOW: one still linked, one
// unlinked after the open. After restore both fds are the symlinks
// themselves (S_IFLNK, not their targets), read the same targets, the
// unlinked one has no links and its name stays free, and the flags are
// O_PATH|O_NOFOLLOW.
#define _GNU_SOURCE
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "prog.h"

static void check_link(int fd, const char* target, nlink_t links, const char* what) {
  struct stat st;
  PROG_CHECK(fstat(fd, &st) == 0 && S_ISLNK(st.st_mode), "%s: not a symlink (mode %o)", what, st.st_mode);
  PROG_CHECK(st.st_nlink == links, "%s: %lu links", what, (unsigned long)st.st_nlink);
  char buf[256];
  ssize_t n = readlinkat(fd, "", buf, sizeof buf - 1);
  PROG_CHECK(n > 0, "%s: readlinkat", what);
  buf[n] = 0;
  PROG_CHECK(strcmp(buf, target) == 0, "%s: points to %s", what, buf);
  int fl = fcntl(fd, F_GETFL);
  PROG_CHECK((fl & (O_PATH | O_NOFOLLOW)) == (O_PATH | O_NOFOLLOW), "%s: flags %#x", what, fl);
}

int main(int argc, char** argv) {
  prog_init(argc, argv);
  int f = open("target", O_WRONLY | O_CREAT, 0644);
  PROG_CHECK(f >= 0 && close(f) == 0, "target");
  PROG_CHECK(symlink("target", "kept") == 0 && symlink("../somewhere/else", "gone") == 0, "symlink");
  int kept = open("kept", O_PATH | O_NOFOLLOW);
  int gone = open("gone", O_PATH | O_NOFOLLOW);
  PROG_CHECK(kept >= 0 && gone >= 0, "open");
  PROG_CHECK(unlink("gone") == 0, "unlink");
  prog_ready();
  prog_wait_go();
  check_link(kept, "target", 1, "linked");
  check_link(gone, "../somewhere/else", 0, "unlinked");
  struct stat st, by_name;
  PROG_CHECK(fstat(kept, &st) == 0 && lstat("kept", &by_name) == 0 && st.st_ino == by_name.st_ino,
             "not the symlink in the prog dir");
  PROG_CHECK(lstat("gone", &by_name) != 0, "the unlinked symlink is back by name");
  prog_pass();
}
