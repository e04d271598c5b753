// A child made with clone(CLONE_FILES) shares the root's fd table. After
// restore the table is still one: an fd the child opens shows in the
// root, and one the root closes is gone in the child. A file opened
// before the dump keeps its offset, seen from both.
#define _GNU_SOURCE
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>

#include "prog.h"

#define FROM_CHILD 50  // the fd number the child opens after go

static int fd;
static char child_stack[64 * 1024] __attribute__((aligned(16)));

static void check_offset(void) { PROG_CHECK(lseek(fd, 0, SEEK_CUR) == 5, "offset %ld, want 5", (long)lseek(fd, 0, SEEK_CUR)); }

static int child(void* arg) {
  (void)arg;
  prog_be_child(0);
  check_offset();
  prog_child_ready(0);
  prog_wait_go();
  check_offset();
  int f = open("from-child.txt", O_RDONLY | O_CREAT, 0644);
  PROG_CHECK(f >= 0, "open");
  PROG_CHECK(dup2(f, FROM_CHILD) == FROM_CHILD && close(f) == 0, "dup2");
  prog_mark("child-opened");
  prog_wait_mark("root-closed");
  PROG_CHECK(fcntl(FROM_CHILD, F_GETFD) < 0, "fd %d the root closed is still open here: tables not shared", FROM_CHILD);
  prog_pass();
}

int main(int argc, char** argv) {
  prog_init(argc, argv);
  fd = open("shared.txt", O_RDWR | O_CREAT | O_TRUNC, 0644);
  PROG_CHECK(fd >= 0 && write(fd, "0123456789", 10) == 10, "write");
  PROG_CHECK(lseek(fd, 5, SEEK_SET) == 5, "seek");
  pid_t c = clone(child, child_stack + sizeof child_stack, CLONE_FILES | SIGCHLD, NULL);
  PROG_CHECK(c > 0, "clone CLONE_FILES");
  prog_wait_children_ready(1);
  PROG_CHECK(fcntl(FROM_CHILD, F_GETFD) < 0, "fd %d already open", FROM_CHILD);
  prog_ready();
  prog_wait_go();
  check_offset();
  char buf[8] = {0};
  PROG_CHECK(pread(fd, buf, 5, 5) == 5 && memcmp(buf, "56789", 5) == 0, "contents: %s", buf);
  prog_wait_mark("child-opened");
  PROG_CHECK(fcntl(FROM_CHILD, F_GETFD) >= 0, "fd %d the child opened is not here: tables not shared", FROM_CHILD);
  char link[600] = {0};
  PROG_CHECK(readlink("/proc/self/fd/50", link, sizeof link - 1) > 0, "readlink");
  PROG_CHECK(strstr(link, "/from-child.txt") != NULL, "fd %d is %s", FROM_CHILD, link);
  PROG_CHECK(close(FROM_CHILD) == 0, "close");
  prog_mark("root-closed");
  prog_check_child(c, 0);
  check_offset();
  prog_pass();
}
