// A child made with clone(CLONE_FS) shares the root's cwd and umask.
// After restore they are still shared: when the child changes directory
// and umask the root sees both change, and the other way round.
#define _GNU_SOURCE
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "prog.h"

static char top[512], sub[600];
static char child_stack[64 * 1024] __attribute__((aligned(16)));

static mode_t get_umask(void) {
  mode_t m = umask(0);
  umask(m);
  return m;
}

static void check_fs(const char* who, const char* dir, mode_t mask) {
  char cwd[600];
  PROG_CHECK(getcwd(cwd, sizeof cwd) != NULL, "%s: getcwd", who);
  PROG_CHECK(strcmp(cwd, dir) == 0, "%s: cwd %s, want %s", who, cwd, dir);
  PROG_CHECK(get_umask() == mask, "%s: umask %03o, want %03o", who, get_umask(), mask);
}

static int child(void* arg) {
  (void)arg;
  prog_be_child(0);
  check_fs("child", top, 027);
  prog_child_ready(0);
  prog_wait_go();
  check_fs("child", top, 027);
  PROG_CHECK(chdir("sub") == 0, "chdir sub");
  umask(077);
  prog_mark("child-moved");
  prog_wait_mark("root-moved");
  check_fs("child after the root moved", top, 022);
  prog_pass();
}

int main(int argc, char** argv) {
  prog_init(argc, argv);
  PROG_CHECK(getcwd(top, sizeof top) != NULL, "getcwd");
  snprintf(sub, sizeof sub, "%s/sub", top);
  PROG_CHECK(mkdir("sub", 0755) == 0, "mkdir");
  umask(027);
  pid_t c = clone(child, child_stack + sizeof child_stack, CLONE_FS | SIGCHLD, NULL);
  PROG_CHECK(c > 0, "clone CLONE_FS");
  prog_wait_children_ready(1);
  prog_ready();
  prog_wait_go();
  prog_wait_mark("child-moved");
  check_fs("root after the child moved", sub, 077);
  PROG_CHECK(chdir(top) == 0, "chdir back");
  umask(022);
  prog_mark("root-moved");
  prog_check_child(c, 0);
  check_fs("root", top, 022);
  prog_pass();
}
