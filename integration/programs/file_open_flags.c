// Open-file status flags a program can set and see with F_GETFL:
// O_NONBLOCK, O_SYNC, O_DSYNC, O_NOATIME, O_DIRECT on regular files.
#define _GNU_SOURCE
#include <fcntl.h>
#include <unistd.h>

#include "prog.h"

int main(int argc, char** argv) {
  prog_init(argc, argv);
  int flags[] = {O_RDWR | O_NONBLOCK, O_WRONLY | O_SYNC, O_RDWR | O_DSYNC, O_RDONLY | O_NOATIME, O_RDWR | O_DIRECT};
  int fds[5], before[5];
  for (int i = 0; i < 5; i++) {
    fds[i] = open("flags.bin", flags[i] | O_CREAT, 0644);
    PROG_CHECK(fds[i] >= 0, "open %d", i);
    before[i] = fcntl(fds[i], F_GETFL);
  }
  prog_ready();
  prog_wait_go();
  for (int i = 0; i < 5; i++) {
    int now = fcntl(fds[i], F_GETFL);
    PROG_CHECK(now == before[i], "fd %d flags %#o, were %#o", fds[i], now, before[i]);
  }
  prog_pass();
}
