// One open file description shared by parent and child (inherited over
// fork) and a second, separate open of the same file. After restore a
// read in the child moves the shared offset the parent sees; the separate
// open's offset stays where it was.
#define _GNU_SOURCE
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include "prog.h"

static char content[100];

static void check_offsets(int a, off_t want_a, int b, off_t want_b) {
  off_t oa = lseek(a, 0, SEEK_CUR), ob = lseek(b, 0, SEEK_CUR);
  PROG_CHECK(oa == want_a && ob == want_b, "offsets %ld %ld, want %ld %ld", (long)oa, (long)ob, (long)want_a,
             (long)want_b);
}

int main(int argc, char** argv) {
  prog_init(argc, argv);
  for (int i = 0; i < 100; i++) content[i] = (char)('A' + i % 26 + (i / 26) % 2 * 32);
  int a = open("offset.txt", O_RDWR | O_CREAT | O_TRUNC, 0644);
  PROG_CHECK(a >= 0 && write(a, content, 100) == 100, "write");
  int b = open("offset.txt", O_RDONLY);
  PROG_CHECK(b >= 0, "second open");
  PROG_CHECK(lseek(a, 20, SEEK_SET) == 20 && lseek(b, 7, SEEK_SET) == 7, "seek");
  pid_t c = prog_fork_child(0);
  if (c == 0) {
    check_offsets(a, 20, b, 7);
    prog_child_ready(0);
    prog_wait_go();
    check_offsets(a, 20, b, 7);
    char buf[10];
    PROG_CHECK(read(a, buf, 10) == 10 && memcmp(buf, content + 20, 10) == 0, "read at 20");
    check_offsets(a, 30, b, 7);
    prog_mark("child-read");
    prog_pass();
  }
  prog_wait_children_ready(1);
  prog_ready();
  prog_wait_go();
  prog_wait_mark("child-read");
  check_offsets(a, 30, b, 7);  // the child's read moved a, not b
  char buf[10];
  PROG_CHECK(read(b, buf, 3) == 3 && memcmp(buf, content + 7, 3) == 0, "read at 7");
  check_offsets(a, 30, b, 10);
  prog_check_child(c, 0);
  prog_pass();
}
