// Zombie children that died of signals no handler can be set for: one
// killed by SIGKILL, one (in a thread group) by SIGKILL sent to a thread.
// After restore both are still zombies and waitpid reports SIGKILL for
// each; a zombie that exited with 0 sits beside them.
#define _GNU_SOURCE
#include <pthread.h>
#include <signal.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "prog.h"

static void* sleeper(void* a) {
  (void)a;
  for (;;) pause();
  return NULL;
}

static void wait_zombie(pid_t pid) {
  for (int i = 0; prog_proc_state(pid) != 'Z'; i++) {
    PROG_CHECK(i < 3000, "child %d never became a zombie", pid);
    usleep(5000);
  }
}

int main(int argc, char** argv) {
  prog_init(argc, argv);
  pid_t a = fork();
  PROG_CHECK(a >= 0, "fork A");
  if (a == 0)
    for (;;) pause();
  pid_t b = fork();
  PROG_CHECK(b >= 0, "fork B");
  if (b == 0) {
    pthread_t t;
    if (pthread_create(&t, NULL, sleeper, NULL) != 0) _exit(3);
    for (;;) pause();
  }
  pid_t z = fork();
  PROG_CHECK(z >= 0, "fork Z");
  if (z == 0) _exit(0);
  PROG_CHECK(kill(a, SIGKILL) == 0, "kill A");
  usleep(100000);  // B's thread exists by now
  PROG_CHECK(kill(b, SIGKILL) == 0, "kill B");
  wait_zombie(a);
  wait_zombie(b);
  wait_zombie(z);
  prog_ready();
  prog_wait_go();
  PROG_CHECK(prog_proc_state(a) == 'Z' && prog_proc_state(b) == 'Z' && prog_proc_state(z) == 'Z',
             "no longer zombies: %c %c %c", prog_proc_state(a), prog_proc_state(b), prog_proc_state(z));
  int st;
  PROG_CHECK(waitpid(a, &st, WNOHANG) == a, "waitpid A");
  PROG_CHECK(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL, "A: status %#x, want SIGKILL", st);
  PROG_CHECK(waitpid(b, &st, WNOHANG) == b, "waitpid B");
  PROG_CHECK(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL, "B: status %#x, want SIGKILL", st);
  PROG_CHECK(waitpid(z, &st, WNOHANG) == z, "waitpid Z");
  PROG_CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0, "Z: status %#x, want exit 0", st);
  prog_pass();
}
