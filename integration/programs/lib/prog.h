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
#include <sys/types.h>

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

// Process trees. Every process of the tree waits for the go file itself
// and checks its own state; only the root writes the result. A process
// marked with prog_be_child(N) (prog_fork_child does it) is child N: there
// prog_fail writes "fail-N" with its text and exits 1 (so PROG_CHECK works
// in children), prog_pass just exits 0, and prog_wait_go gives up once the
// root has a verdict or is gone. Readiness and other steps are files in
// the prog dir, so nothing holds an fd across the dump.
void prog_be_child(int n);
pid_t prog_fork_child(int n);  // fork(); the child is marked as child N
// Creates "ready-N"; the root waits for ready-0 .. ready-(count-1), and
// fails early if one of them wrote its fail file (or after 15 s).
void prog_child_ready(int n);
void prog_wait_children_ready(int count);
_Noreturn void prog_child_fail(int n, const char* fmt, ...) __attribute__((format(printf, 2, 3)));
// Reaps child N (pid, or -1 for any child); if it did not exit 0, fails
// the calling process with the child's fail text.
void prog_check_child(pid_t pid, int n);
// A named step in the prog dir: created atomically, waited for (15 s).
void prog_mark(const char* name);
void prog_wait_mark(const char* name);
// The state letter of /proc/PID/stat ('R', 'S', 'T', 'Z', ...), 0 if none.
char prog_proc_state(pid_t pid);
