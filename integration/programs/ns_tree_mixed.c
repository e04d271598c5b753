// A tree whose root made UTS, IPC and network namespaces of its own before
// forking: the children are in them too and see the root's hostname and
// IPC limit after restore, all in the same namespaces as the root.
#define _GNU_SOURCE
#include <fcntl.h>
#include <sched.h>
#include <string.h>
#include <stdio.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "prog.h"

static ino_t ns(const char* kind) {
  char p[64];
  strcpy(p, "/proc/self/ns/");
  strcat(p, kind);
  struct stat st;
  return stat(p, &st) == 0 ? st.st_ino : 0;
}

static void check(ino_t uts, ino_t ipc, ino_t net) {
  struct utsname u;
  PROG_CHECK(uname(&u) == 0 && strcmp(u.nodename, "cryo-tree") == 0, "hostname '%s'", u.nodename);
  char buf[32] = {0};
  int fd = open("/proc/sys/kernel/msgmax", O_RDONLY);
  PROG_CHECK(fd >= 0 && read(fd, buf, sizeof buf - 1) > 0, "msgmax");
  close(fd);
  PROG_CHECK(strcmp(buf, "31337\n") == 0, "msgmax '%s'", buf);
  PROG_CHECK(ns("uts") == uts && ns("ipc") == ipc && ns("net") == net, "not in the root's namespaces");
}

int main(int argc, char** argv) {
  prog_init(argc, argv);
  PROG_CHECK(unshare(CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWNET) == 0, "unshare");
  PROG_CHECK(sethostname("cryo-tree", 9) == 0, "sethostname");
  int fd = open("/proc/sys/kernel/msgmax", O_WRONLY);
  PROG_CHECK(fd >= 0 && write(fd, "31337", 5) == 5, "msgmax");
  close(fd);
  pid_t kids[3];
  for (int i = 0; i < 3; i++) {
    kids[i] = prog_fork_child(i);
    if (kids[i] == 0) {
      prog_child_ready(i);
      prog_wait_go();
      // The root's namespaces, as the root itself sees them (its /proc/PPID).
      char p[64];
      struct stat a, b, c;
      snprintf(p, sizeof p, "/proc/%d/ns/uts", getppid());
      PROG_CHECK(stat(p, &a) == 0, "stat %s", p);
      snprintf(p, sizeof p, "/proc/%d/ns/ipc", getppid());
      PROG_CHECK(stat(p, &b) == 0, "stat %s", p);
      snprintf(p, sizeof p, "/proc/%d/ns/net", getppid());
      PROG_CHECK(stat(p, &c) == 0, "stat %s", p);
      check(a.st_ino, b.st_ino, c.st_ino);
      prog_pass();
    }
  }
  prog_wait_children_ready(3);
  prog_ready();
  prog_wait_go();
  check(ns("uts"), ns("ipc"), ns("net"));
  for (int i = 0; i < 3; i++) prog_check_child(kids[i], i);
  prog_pass();
}
