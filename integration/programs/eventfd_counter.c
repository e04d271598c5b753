// Two eventfds: a plain one with counter 12345, and an EFD_SEMAPHORE |
// EFD_NONBLOCK one with counter 3. After restore the first reads 12345 at
// once and is then empty; the second reads 1 three times, then EAGAIN.
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdint.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "prog.h"

int main(int argc, char** argv) {
  prog_init(argc, argv);
  int plain = eventfd(12345, 0);
  int sem = eventfd(3, EFD_SEMAPHORE | EFD_NONBLOCK);
  PROG_CHECK(plain >= 0 && sem >= 0, "eventfd");
  prog_ready();
  prog_wait_go();
  PROG_CHECK(!(fcntl(plain, F_GETFL) & O_NONBLOCK) && (fcntl(sem, F_GETFL) & O_NONBLOCK), "O_NONBLOCK flags");
  uint64_t v = 0;
  struct pollfd pf = {.fd = plain, .events = POLLIN};
  PROG_CHECK(poll(&pf, 1, 0) == 1, "plain eventfd not readable");
  PROG_CHECK(read(plain, &v, 8) == 8 && v == 12345, "plain counter %llu, want 12345", (unsigned long long)v);
  PROG_CHECK(poll(&pf, 1, 0) == 0, "plain eventfd still readable after the read");
  v = 5;
  PROG_CHECK(write(plain, &v, 8) == 8 && read(plain, &v, 8) == 8 && v == 5, "plain eventfd no longer counts");
  for (int i = 0; i < 3; i++) {
    v = 0;
    PROG_CHECK(read(sem, &v, 8) == 8 && v == 1, "semaphore read %d gave %llu, want 1", i, (unsigned long long)v);
  }
  PROG_CHECK(read(sem, &v, 8) < 0 && errno == EAGAIN, "semaphore counter more than 3");
  prog_pass();
}
