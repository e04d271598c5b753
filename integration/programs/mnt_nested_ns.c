// A process in a mount namespace of its own below the container's: it
// mounts a tmpfs only it sees, keeps its cwd, a file, a shared mapping
// and an unlinked file there, holds the file of a tmpfs the root mounted
// both through the fd it inherited (the root's mount) and through one it
// opened itself (its own copy of that mount); a shared tmpfs of the
// root's has its copy there as a peer. After restore: still two
// namespaces, each with its own mounts (its program's external bind
// too), every fd on the mount it was on, the copy still the same
// filesystem as the root's, and a mount the root makes in the shared one
// shows in the child's copy.
#define _GNU_SOURCE
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include "mnt.h"
#include "prog.h"

#define OUTER "/mnt/nested-outer"
#define INNER "/mnt/nested-inner"
#define SHARED "/mnt/nested-shared"

static int fd_mnt_id(int fd) {
  char p[64], line[256];
  snprintf(p, sizeof p, "/proc/self/fdinfo/%d", fd);
  FILE* f = fopen(p, "r");
  PROG_CHECK(f, "open %s", p);
  int id = -1;
  while (fgets(line, sizeof line, f))
    if (sscanf(line, "mnt_id: %d", &id) == 1) break;
  fclose(f);
  PROG_CHECK(id >= 0, "no mnt_id in %s", p);
  return id;
}

static int path_mnt_id(const char* path) {
  int fd = open(path, O_PATH);
  PROG_CHECK(fd >= 0, "open %s", path);
  int id = fd_mnt_id(fd);
  close(fd);
  return id;
}

static ino_t ns_of(pid_t pid) {
  char p[64];
  struct stat st;
  snprintf(p, sizeof p, "/proc/%d/ns/mnt", pid);
  PROG_CHECK(stat(p, &st) == 0, "stat %s", p);
  return st.st_ino;
}

static void child(int outer) {
  PROG_CHECK(unshare(CLONE_NEWNS) == 0, "unshare(CLONE_NEWNS)");
  mnt_mkdirs(INNER);
  mnt_mount("cryo-inner", INNER, "tmpfs", 0, "size=1m");
  mnt_mkdirs(INNER "/work");
  mnt_write(INNER "/data", "inner data");
  int in = open(INNER "/data", O_RDONLY);
  int own = open(OUTER "/data", O_RDONLY);
  PROG_CHECK(in >= 0 && own >= 0, "open");
  PROG_CHECK(chdir(INNER "/work") == 0, "chdir");
  int mfd = open(INNER "/mapped", O_RDWR | O_CREAT, 0600);
  PROG_CHECK(mfd >= 0 && ftruncate(mfd, 4096) == 0, "mapped file");
  char* map = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, mfd, 0);
  PROG_CHECK(map != MAP_FAILED, "mmap");
  close(mfd);
  int ghost = open(INNER "/ghost", O_RDWR | O_CREAT, 0600);
  PROG_CHECK(ghost >= 0 && write(ghost, "unlinked", 8) == 8 && unlink(INNER "/ghost") == 0, "unlinked file");
  PROG_CHECK(fd_mnt_id(outer) != fd_mnt_id(own), "the copy has the root's mount id");
  prog_child_ready(0);
  prog_wait_go();
  PROG_CHECK(ns_of(getpid()) != ns_of(getppid()), "the child is in the root's mount namespace");
  char line[1024], buf[64] = "", cwd[256];
  PROG_CHECK(mnt_line(INNER, line, sizeof line) && strstr(line, " - tmpfs cryo-inner "), "no tmpfs at " INNER);
  PROG_CHECK(getcwd(cwd, sizeof cwd) && strcmp(cwd, INNER "/work") == 0, "cwd %s", cwd);
  PROG_CHECK(pread(in, buf, 10, 0) == 10 && memcmp(buf, "inner data", 10) == 0, "inner file: '%s'", buf);
  struct stat a, b;
  PROG_CHECK(fstat(in, &a) == 0 && stat(INNER "/data", &b) == 0 && a.st_ino == b.st_ino && a.st_dev == b.st_dev,
             "the inner fd is not the file at its path");
  PROG_CHECK(fd_mnt_id(in) == path_mnt_id(INNER), "the inner fd is not on " INNER);
  memset(buf, 0, sizeof buf);
  PROG_CHECK(pread(ghost, buf, 8, 0) == 8 && memcmp(buf, "unlinked", 8) == 0, "unlinked file: '%s'", buf);
  PROG_CHECK(fstat(ghost, &a) == 0 && a.st_nlink == 0 && fd_mnt_id(ghost) == path_mnt_id(INNER),
             "unlinked file: %lu links, or not on " INNER, (unsigned long)a.st_nlink);
  PROG_CHECK(fd_mnt_id(own) == path_mnt_id(OUTER), "its own fd is not on its copy of " OUTER);
  PROG_CHECK(fd_mnt_id(outer) != fd_mnt_id(own), "the inherited fd is on its copy of " OUTER ", not the root's");
  PROG_CHECK(fstat(outer, &a) == 0 && fstat(own, &b) == 0 && a.st_dev == b.st_dev && a.st_ino == b.st_ino,
             "the two fds are not one file");
  prog_wait_mark("sub-mounted");
  PROG_CHECK(mnt_line(SHARED "/sub", line, sizeof line) && strstr(line, " - tmpfs cryo-sub "),
             "the root's mount in " SHARED " did not propagate to the child's copy");
  strcpy(map, "after restore");
  mnt_read(INNER "/mapped", buf, sizeof buf);
  PROG_CHECK(strcmp(buf, "after restore") == 0, "the mapping is not the inner file's: '%s'", buf);
  // One filesystem under both mounts: the root reads what it writes.
  mnt_write(OUTER "/from-child", "through the copy");
  prog_mark("written");
  prog_pass();
}

int main(int argc, char** argv) {
  prog_init(argc, argv);
  mnt_require_container();
  // Only what it shares below is shared (nothing the child mounts
  // reaches the root).
  mnt_mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL);
  mnt_mkdirs(SHARED);
  mnt_mount("cryo-shared", SHARED, "tmpfs", 0, "size=1m");
  mnt_mount(NULL, SHARED, NULL, MS_SHARED, NULL);
  mnt_mkdirs(SHARED "/sub");
  mnt_mkdirs(OUTER);
  mnt_mount("cryo-outer", OUTER, "tmpfs", 0, "size=1m");
  mnt_mount(NULL, OUTER, NULL, MS_PRIVATE, NULL);
  mnt_write(OUTER "/data", "outer data");
  int outer = open(OUTER "/data", O_RDONLY);
  PROG_CHECK(outer >= 0, "open " OUTER "/data");
  pid_t kid = prog_fork_child(0);
  if (kid == 0) child(outer);
  prog_wait_children_ready(1);
  prog_ready();
  prog_wait_go();
  PROG_CHECK(!mnt_line(INNER, (char[1024]){0}, 1024), "the child's tmpfs shows in the root's namespace");
  PROG_CHECK(fd_mnt_id(outer) == path_mnt_id(OUTER), "the root's fd is not on " OUTER);
  mnt_mount("cryo-sub", SHARED "/sub", "tmpfs", 0, "size=1m");
  prog_mark("sub-mounted");
  prog_wait_mark("written");
  char buf[64];
  mnt_read(OUTER "/from-child", buf, sizeof buf);
  PROG_CHECK(strcmp(buf, "through the copy") == 0, "written by the child: '%s'", buf);
  prog_check_child(kid, 0);
  prog_pass();
}
