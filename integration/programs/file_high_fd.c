// Descriptors at high numbers and with gaps (3 closed, 7, 40, 1000) keep
// their numbers; nothing appears in the gaps.
#define _GNU_SOURCE
#include <fcntl.h>
#include <unistd.h>

#include "prog.h"

int main(int argc, char** argv) {
  prog_init(argc, argv);
  int fd = open("high.txt", O_RDWR | O_CREAT, 0644);
  PROG_CHECK(fd >= 0 && write(fd, "hello", 5) == 5, "open");
  int want[] = {7, 40, 1000};
  for (int i = 0; i < 3; i++) PROG_CHECK(dup2(fd, want[i]) == want[i], "dup2 %d", want[i]);
  close(fd);
  prog_ready();
  prog_wait_go();
  for (int i = 0; i < 3; i++) {
    char buf[6] = {0};
    PROG_CHECK(pread(want[i], buf, 5, 0) == 5, "fd %d", want[i]);
  }
  int gaps[] = {3, 8, 39, 41, 999};
  for (int i = 0; i < 5; i++) PROG_CHECK(fcntl(gaps[i], F_GETFD) < 0, "fd %d appeared", gaps[i]);
  PROG_CHECK(lseek(7, 2, SEEK_SET) == 2 && lseek(1000, 0, SEEK_CUR) == 2, "dups no longer share the offset");
  prog_pass();
}
