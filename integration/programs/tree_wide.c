// A wide tree: 50 children of the root, each with a 64 KiB heap buffer of
// its own pattern. After restore every child checks its buffer and pid,
// and the root reaps all fifty.
#define _GNU_SOURCE
#include <stdint.h>
#include <stdlib.h>
#include <unistd.h>

#include "prog.h"

#define N 50
#define WORDS (64 * 1024 / 4)

static uint32_t word(int i, int k) { return (uint32_t)(i + 1) * 0x01000193u + (uint32_t)k * 2654435761u; }

int main(int argc, char** argv) {
  prog_init(argc, argv);
  pid_t root = getpid(), kids[N];
  for (int i = 0; i < N; i++) {
    kids[i] = prog_fork_child(i);
    if (kids[i] == 0) {
      uint32_t* heap = malloc(WORDS * sizeof *heap);
      PROG_CHECK(heap != NULL, "malloc");
      for (int k = 0; k < WORDS; k++) heap[k] = word(i, k);
      pid_t me = getpid();
      prog_child_ready(i);
      prog_wait_go();
      PROG_CHECK(getpid() == me && getppid() == root, "pid %d ppid %d, were %d %d", getpid(), getppid(), me, root);
      for (int k = 0; k < WORDS; k++) PROG_CHECK(heap[k] == word(i, k), "heap word %d", k);
      prog_pass();
    }
  }
  prog_wait_children_ready(N);
  prog_ready();
  prog_wait_go();
  for (int i = 0; i < N; i++) prog_check_child(kids[i], i);
  prog_pass();
}
