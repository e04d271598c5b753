// A small tree: the root forks three children and child 1 forks two
// grandchildren. Every process fills a heap buffer and a stack array with
// a pattern of its own and records its pid and parent pid; after restore
// each checks its memory, getpid() and getppid(), and parents reap their
// children: the root fails if any process of the tree lost its state.
#define _GNU_SOURCE
#include <stdint.h>
#include <stdlib.h>
#include <unistd.h>

#include "prog.h"

#define HEAP_WORDS (32 * 1024)
#define STACK_WORDS 512
#define NCHILD 5  // children 0..2, grandchildren 3 and 4 (under child 1)

static uint32_t word(int who, int k) { return (uint32_t)(who + 2) * 0x9e3779b1u ^ (uint32_t)k * 2654435761u; }

// Process `who` (-1: the root): sets up its state, forks its own children,
// waits for go, checks, reaps.
static void member(int who) {
  volatile uint32_t stack[STACK_WORDS];
  uint32_t* heap = malloc(HEAP_WORDS * sizeof *heap);
  PROG_CHECK(heap != NULL, "malloc");
  for (int k = 0; k < HEAP_WORDS; k++) heap[k] = word(who, k);
  for (int k = 0; k < STACK_WORDS; k++) stack[k] = word(who, k) + 1;
  pid_t me = getpid(), parent = getppid();

  int kid_ids[3], nkids = 0;
  if (who == -1) {
    kid_ids[0] = 0, kid_ids[1] = 1, kid_ids[2] = 2, nkids = 3;
  } else if (who == 1) {
    kid_ids[0] = 3, kid_ids[1] = 4, nkids = 2;
  }
  pid_t kids[3];
  for (int i = 0; i < nkids; i++) {
    kids[i] = prog_fork_child(kid_ids[i]);
    if (kids[i] == 0) {
      member(kid_ids[i]);
      prog_pass();  // in a child: exit 0
    }
  }
  if (who == -1) {
    prog_wait_children_ready(NCHILD);
    prog_ready();
  } else {
    prog_child_ready(who);
  }
  prog_wait_go();

  PROG_CHECK(getpid() == me, "getpid %d, was %d", getpid(), me);
  // The root's parent is spawn, which exits on its own time: only the
  // others' parents are fixed.
  if (who != -1) PROG_CHECK(getppid() == parent, "getppid %d, was %d", getppid(), parent);
  for (int k = 0; k < HEAP_WORDS; k++) PROG_CHECK(heap[k] == word(who, k), "heap word %d", k);
  for (int k = 0; k < STACK_WORDS; k++) PROG_CHECK(stack[k] == word(who, k) + 1, "stack word %d", k);
  for (int i = 0; i < nkids; i++) prog_check_child(kids[i], kid_ids[i]);
}

int main(int argc, char** argv) {
  prog_init(argc, argv);
  member(-1);
  prog_pass();
}
