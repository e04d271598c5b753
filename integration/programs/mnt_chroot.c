// A child chrooted into a directory of a tmpfs of the container, with
// its cwd below it and the harness's directory bound inside: after
// restore its root and cwd are still there.
#define _GNU_SOURCE
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "mnt.h"
#include "prog.h"

int main(int argc, char** argv) {
  prog_init(argc, argv);
  mnt_require_container();
  mnt_mkdirs("/mnt/jail");
  mnt_mount("cryo-jail", "/mnt/jail", "tmpfs", 0, "size=1m");
  mnt_mkdirs("/mnt/jail/root/inner");
  mnt_write("/mnt/jail/root/marker", "inside the jail\n");
  // The harness's directory, seen from inside the jail as well.
  mnt_mkdirs("/mnt/jail/root/run/prog");
  mnt_mount("/run/prog", "/mnt/jail/root/run/prog", NULL, MS_BIND, NULL);
  pid_t c = prog_fork_child(0);
  if (c == 0) {
    PROG_CHECK(chroot("/mnt/jail/root") == 0 && chdir("/inner") == 0, "chroot");
    prog_child_ready(0);
    prog_wait_go();
    char buf[64], cwd[64];
    mnt_read("/marker", buf, sizeof buf);
    PROG_CHECK(strcmp(buf, "inside the jail\n") == 0, "the root is not the jail: '%s'", buf);
    PROG_CHECK(getcwd(cwd, sizeof cwd) && strcmp(cwd, "/inner") == 0, "cwd %s", cwd);
    prog_pass();
  }
  prog_wait_children_ready(1);
  prog_ready();
  prog_wait_go();
  prog_check_child(c, 0);
  prog_pass();
}
