// The simplest state: a single-threaded process with a few variables on the
// stack, in .data and on the heap, sleeping when dumped.
#include <stdlib.h>
#include <string.h>

#include "prog.h"

static unsigned long data_word = 0x1122334455667788UL;

int main(int argc, char** argv) {
  prog_init(argc, argv);
  volatile unsigned long stack_word = 0xdeadbeefcafef00dUL;
  char* heap = malloc(100000);
  PROG_CHECK(heap != NULL, "malloc");
  for (int i = 0; i < 100000; i++) heap[i] = (char)(i * 7);
  prog_ready();
  prog_wait_go();
  PROG_CHECK(stack_word == 0xdeadbeefcafef00dUL, "stack word changed");
  PROG_CHECK(data_word == 0x1122334455667788UL, "data word changed");
  for (int i = 0; i < 100000; i++)
    PROG_CHECK(heap[i] == (char)(i * 7), "heap byte %d changed", i);
  prog_pass();
}
