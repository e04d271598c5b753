#define _GNU_SOURCE
#include "mnt.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include "prog.h"

void mnt_require_container(void) {
  const char* f = getenv("CRYO_FLAVOR");
  PROG_CHECK(f && strcmp(f, "ns") == 0, "a mount program runs in the ns flavor only (CRYO_FLAVOR=ns)");
}

void mnt_mount(const char* src, const char* dst, const char* type, unsigned long flags, const char* data) {
  PROG_CHECK(mount(src, dst, type, flags, data) == 0, "mount %s on %s (%s, %#lx)", src ? src : "-", dst,
             type ? type : "-", flags);
}

void mnt_mkdirs(const char* path) {
  char p[512];
  snprintf(p, sizeof p, "%s", path);
  for (char* c = p + 1; *c; c++)
    if (*c == '/') {
      *c = 0;
      mkdir(p, 0755);
      *c = '/';
    }
  PROG_CHECK(mkdir(p, 0755) == 0 || errno == EEXIST, "mkdir %s", p);
}

void mnt_write(const char* path, const char* text) {
  int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  PROG_CHECK(fd >= 0, "create %s", path);
  size_t len = strlen(text);
  PROG_CHECK(write(fd, text, len) == (ssize_t)len, "write %s", path);
  close(fd);
}

void mnt_read(const char* path, char* buf, size_t n) {
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  PROG_CHECK(fd >= 0, "open %s", path);
  size_t got = 0;
  ssize_t r;
  while (got + 1 < n && (r = read(fd, buf + got, n - 1 - got)) > 0) got += (size_t)r;
  buf[got] = 0;
  close(fd);
}

bool mnt_line(const char* mountpoint, char* line, size_t n) {
  static char text[65536];
  mnt_read("/proc/self/mountinfo", text, sizeof text);
  bool found = false;
  for (char* l = strtok(text, "\n"); l; l = strtok(NULL, "\n")) {
    char mp[512];
    if (sscanf(l, "%*u %*u %*s %*s %511s", mp) == 1 && strcmp(mp, mountpoint) == 0) {
      snprintf(line, n, "%s", l);
      found = true;  // the last one listed is the topmost
    }
  }
  return found;
}

void mnt_snapshot(char* out, size_t n) {
  static char text[65536];
  mnt_read("/proc/self/mountinfo", text, sizeof text);
  unsigned groups[256];
  size_t ngroups = 0;
  size_t used = 0;
  out[0] = 0;
  for (char* l = strtok(text, "\n"); l; l = strtok(NULL, "\n")) {
    // ID PARENT MAJ:MIN ROOT MOUNTPOINT OPTS [OPTIONAL...] - TYPE SOURCE SUPER
    char* f[64];
    int nf = 0;
    for (char* t = strtok_r(l, " ", &l); t && nf < 64; t = strtok_r(NULL, " ", &l)) f[nf++] = t;
    for (int i = 3; i < nf && used + 1 < n; i++) {
      char word[600];
      unsigned g;
      char kind[16];
      if (sscanf(f[i], "%15[a-z]:%u", kind, &g) == 2 && (!strcmp(kind, "shared") || !strcmp(kind, "master"))) {
        size_t k = 0;
        while (k < ngroups && groups[k] != g) k++;
        if (k == ngroups && ngroups < 256) groups[ngroups++] = g;
        snprintf(word, sizeof word, "%s:#%zu", kind, k);
      } else {
        snprintf(word, sizeof word, "%s", f[i]);
      }
      used += (size_t)snprintf(out + used, n - used, "%s%s", word, i + 1 < nf ? " " : "\n");
    }
  }
}
