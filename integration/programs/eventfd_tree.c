// One eventfd in semaphore mode shared by the root and three children (one
// open file description): its counter is 5 at dump time. After restore each
// child takes one (read gives 1), then the root finds 2 left: the children
// and the root still share one counter, not four copies.
#define _GNU_SOURCE
#include <stdint.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "prog.h"

#define N 3

int main(int argc, char** argv) {
  prog_init(argc, argv);
  int e = eventfd(5, EFD_SEMAPHORE | EFD_NONBLOCK);
  PROG_CHECK(e >= 0, "eventfd");
  pid_t kids[N];
  for (int i = 0; i < N; i++) {
    kids[i] = prog_fork_child(i);
    if (kids[i] == 0) {
      prog_child_ready(i);
      prog_wait_go();
      prog_wait_mark(i == 0 ? "go-0" : i == 1 ? "go-1" : "go-2");
      uint64_t v = 0;
      PROG_CHECK(read(e, &v, sizeof v) == sizeof v && v == 1, "child %d: read %llu, want 1", i, (unsigned long long)v);
      prog_mark(i == 0 ? "took-0" : i == 1 ? "took-1" : "took-2");
      prog_pass();
    }
  }
  prog_wait_children_ready(N);
  prog_ready();
  prog_wait_go();
  // One after the other, so the counts are known.
  const char* go[N] = {"go-0", "go-1", "go-2"};
  const char* took[N] = {"took-0", "took-1", "took-2"};
  for (int i = 0; i < N; i++) {
    prog_mark(go[i]);
    prog_wait_mark(took[i]);
  }
  for (int i = 0; i < N; i++) prog_check_child(kids[i], i);
  uint64_t v = 0;
  for (int left = 2; left > 0; left--)
    PROG_CHECK(read(e, &v, sizeof v) == sizeof v && v == 1, "root: read %llu with %d left", (unsigned long long)v, left);
  PROG_CHECK(read(e, &v, sizeof v) < 0, "root: the counter is not 0 after 5 reads: not one shared eventfd");
  prog_pass();
}
