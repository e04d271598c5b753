// One file opened twice (two open file descriptions, not dups) with
// different offsets and flags: after restore the two still move
// independently, and an O_APPEND one still appends.
#define _GNU_SOURCE
#include <fcntl.h>
#include <unistd.h>

#include "prog.h"

int main(int argc, char** argv) {
  prog_init(argc, argv);
  int a = open("two.txt", O_RDWR | O_CREAT | O_TRUNC, 0644);
  PROG_CHECK(a >= 0 && write(a, "0123456789", 10) == 10, "write");
  int b = open("two.txt", O_WRONLY | O_APPEND);
  PROG_CHECK(b >= 0, "open append");
  PROG_CHECK(lseek(a, 4, SEEK_SET) == 4, "seek a");
  prog_ready();
  prog_wait_go();
  PROG_CHECK(lseek(a, 0, SEEK_CUR) == 4, "a offset");
  PROG_CHECK(lseek(a, 6, SEEK_SET) == 6 && lseek(b, 0, SEEK_CUR) != 6, "the two opens share an offset now");
  PROG_CHECK(write(b, "X", 1) == 1 && lseek(a, 0, SEEK_END) == 11, "append");
  PROG_CHECK((fcntl(a, F_GETFL) & O_APPEND) == 0, "a became O_APPEND");
  prog_pass();
}
