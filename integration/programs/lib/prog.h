// The contract between a state program and the harness (suite.sh):
//   1. the program sets up its state, then calls prog_ready();
//   2. the harness dumps it (and restores it, in a C/R run);
//   3. the harness creates the "go" file; prog_wait_go() returns;
//   4. the program checks its state and ends with prog_pass() or prog_fail().
// Files live in $CRYO_PROG_DIR: ready, go, result. The verdict is the
// result file's first line ("PASS" or "FAIL: why") and the exit status.
// prog_wait_go() sleeps in short nanosleeps, so a dump usually catches the
// program inside a syscall: restarts get exercised by every program.
#pragma once

#include <stdarg.h>
#include <stdbool.h>

void prog_init(int argc, char** argv);
void prog_ready(void);
void prog_wait_go(void);
_Noreturn void prog_pass(void);
_Noreturn void prog_fail(const char* fmt, ...) __attribute__((format(printf, 1, 2)));

// Checks a condition; fails the program with the text and errno context.
#define PROG_CHECK(cond, ...)                 \
  do {                                        \
    if (!(cond)) prog_fail(__VA_ARGS__);      \
  } while (0)
