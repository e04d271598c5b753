// A memfd written and mapped MAP_SHARED by the root before fork; two
// children inherit the fd and the mapping and write through the mapping
// too. After restore all of them still share one file: child 0 writes
// through its mapping, child 1 through its fd, and the root sees both
// through its fd and its mapping.
#define _GNU_SOURCE
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "prog.h"

#define PG 4096
#define SIZE (16 * PG)

static int fd;
static char* map;

// The text at page `page`, seen through the fd and through the mapping.
static void check_text(int page, const char* text) {
  char buf[64] = {0};
  size_t len = strlen(text);
  PROG_CHECK(pread(fd, buf, len, (off_t)page * PG) == (ssize_t)len, "pread page %d", page);
  PROG_CHECK(memcmp(buf, text, len) == 0, "page %d through the fd: '%s', want '%s'", page, buf, text);
  PROG_CHECK(memcmp(map + page * PG, text, len) == 0, "page %d through the mapping: '%.20s', want '%s'", page,
             map + page * PG, text);
}

static void check_old(void) {
  check_text(0, "root via fd");
  check_text(1, "root via mapping");
  check_text(2, "child 0 before");
  check_text(3, "child 1 before");
  struct stat st;
  PROG_CHECK(fstat(fd, &st) == 0 && st.st_size == SIZE, "memfd size %ld", (long)st.st_size);
}

int main(int argc, char** argv) {
  prog_init(argc, argv);
  fd = memfd_create("cryo-tree-memfd", 0);
  PROG_CHECK(fd >= 0, "memfd_create");
  PROG_CHECK(ftruncate(fd, SIZE) == 0, "ftruncate");
  PROG_CHECK(pwrite(fd, "root via fd", 11, 0) == 11, "pwrite");
  map = mmap(NULL, SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  PROG_CHECK(map != MAP_FAILED, "mmap");
  strcpy(map + PG, "root via mapping");
  pid_t kids[2];
  for (int i = 0; i < 2; i++) {
    kids[i] = prog_fork_child(i);
    if (kids[i] == 0) {
      strcpy(map + (2 + i) * PG, i == 0 ? "child 0 before" : "child 1 before");
      prog_child_ready(i);
      prog_wait_go();
      check_old();
      if (i == 0)
        strcpy(map + 4 * PG, "child 0 via mapping");
      else
        PROG_CHECK(pwrite(fd, "child 1 via fd", 14, 5 * PG) == 14, "pwrite");
      prog_pass();
    }
  }
  prog_wait_children_ready(2);
  check_old();
  prog_ready();
  prog_wait_go();
  check_old();
  for (int i = 0; i < 2; i++) prog_check_child(kids[i], i);
  check_text(4, "child 0 via mapping");
  check_text(5, "child 1 via fd");
  PROG_CHECK(pwrite(fd, "root again", 10, 6 * PG) == 10 && memcmp(map + 6 * PG, "root again", 10) == 0,
             "the root's fd and mapping are not one file");
  prog_pass();
}
