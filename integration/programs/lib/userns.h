// For programs that live in a user namespace of their own: the calling
// process moves into a new one whose maps (written by a child of its, still
// root outside) are 0 -> 100000 for 65536 ids, uids and gids alike. The
// prog dir is opened up first: root inside is not root on it.
#pragma once

#define _GNU_SOURCE
#include <fcntl.h>
#include <grp.h>
#include <linux/nsfs.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "prog.h"

#define USERNS_MAP "0 100000 65536\n"

static inline void userns_write(pid_t pid, const char* file, const char* text) {
  char path[64];
  snprintf(path, sizeof path, "/proc/%d/%s", (int)pid, file);
  int fd = open(path, O_WRONLY | O_CLOEXEC);
  if (fd < 0 || write(fd, text, strlen(text)) != (ssize_t)strlen(text)) _exit(1);
  close(fd);
}

static inline void userns_enter(void) {
  const char* dir = getenv("CRYO_PROG_DIR");
  PROG_CHECK(dir && chmod(dir, 0777) == 0, "chmod the prog dir");
  // Its parent (the harness's private temp dir) must be traversable too.
  char parent[4096];
  snprintf(parent, sizeof parent, "%s/..", dir);
  PROG_CHECK(chmod(parent, 0711) == 0, "chmod the prog dir's parent");
  int p[2];
  PROG_CHECK(pipe(p) == 0, "pipe");
  pid_t self = getpid();
  pid_t writer = fork();
  PROG_CHECK(writer >= 0, "fork");
  if (writer == 0) {
    char c;
    close(p[1]);
    if (read(p[0], &c, 1) != 1) _exit(1);
    userns_write(self, "uid_map", USERNS_MAP);
    userns_write(self, "gid_map", USERNS_MAP);
    _exit(0);
  }
  close(p[0]);
  PROG_CHECK(unshare(CLONE_NEWUSER) == 0, "unshare(CLONE_NEWUSER)");
  PROG_CHECK(write(p[1], "x", 1) == 1, "wake the map writer");
  close(p[1]);
  int st;
  PROG_CHECK(waitpid(writer, &st, 0) == writer && WIFEXITED(st) && WEXITSTATUS(st) == 0, "write the maps");
  // Still the host's root, unmapped here: become root inside.
  PROG_CHECK(setgroups(0, NULL) == 0 && setresgid(0, 0, 0) == 0 && setresuid(0, 0, 0) == 0, "become root inside");
}

static inline ino_t userns_ino_of(const char* path) {
  struct stat st;
  return stat(path, &st) == 0 ? st.st_ino : 0;
}

// The user namespace owning /proc/self/ns/KIND is this process's.
static inline int userns_owns(const char* kind) {
  char path[64];
  snprintf(path, sizeof path, "/proc/self/ns/%s", kind);
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return 0;
  int owner = ioctl(fd, NS_GET_USERNS);
  close(fd);
  struct stat st;
  int ok = owner >= 0 && fstat(owner, &st) == 0 && st.st_ino == userns_ino_of("/proc/self/ns/user");
  if (owner >= 0) close(owner);
  return ok;
}

// The contents of a small file, or "" (static buffer per call site).
static inline void userns_read(const char* path, char* buf, size_t cap) {
  buf[0] = 0;
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return;
  ssize_t n = read(fd, buf, cap - 1);
  buf[n > 0 ? n : 0] = 0;
  close(fd);
}

// The Cap* and Uid/Gid/Groups lines of /proc/self/status, in one string.
static inline void userns_creds(char* out, size_t cap) {
  char buf[4096];
  userns_read("/proc/self/status", buf, sizeof buf);
  out[0] = 0;
  for (char* line = strtok(buf, "\n"); line; line = strtok(NULL, "\n"))
    if (!strncmp(line, "Cap", 3) || !strncmp(line, "Uid:", 4) || !strncmp(line, "Gid:", 4) ||
        !strncmp(line, "Groups:", 7)) {
      strncat(out, line, cap - strlen(out) - 2);
      strncat(out, "\n", cap - strlen(out) - 1);
    }
}
