#define _GNU_SOURCE
#include "prog.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

// Fixed-size buffer so no allocation happens after the state is set up.
static char g_dir[512];

static void path_of(char* out, size_t n, const char* name) {
  snprintf(out, n, "%s/%s", g_dir, name);
}

static void write_file(const char* name, const char* text) {
  char p[600], tmp[610];
  path_of(p, sizeof p, name);
  snprintf(tmp, sizeof tmp, "%s.tmp", p);
  int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) _exit(3);
  size_t len = strlen(text);
  if (write(fd, text, len) != (ssize_t)len) _exit(3);
  close(fd);
  if (rename(tmp, p) != 0) _exit(3);
}

void prog_init(int argc, char** argv) {
  (void)argc;
  (void)argv;
  const char* d = getenv("CRYO_PROG_DIR");
  if (d == NULL || strlen(d) >= sizeof g_dir) {
    fprintf(stderr, "CRYO_PROG_DIR is not set\n");
    exit(2);
  }
  strcpy(g_dir, d);
}

void prog_ready(void) { write_file("ready", "ready\n"); }

void prog_wait_go(void) {
  char p[600];
  path_of(p, sizeof p, "go");
  struct timespec t = {0, 5 * 1000 * 1000};
  struct stat st;
  while (stat(p, &st) != 0) nanosleep(&t, NULL);
}

void prog_pass(void) {
  write_file("result", "PASS\n");
  _exit(0);
}

void prog_fail(const char* fmt, ...) {
  char msg[1024];
  int e = errno;
  va_list ap;
  va_start(ap, fmt);
  int n = snprintf(msg, sizeof msg, "FAIL: ");
  n += vsnprintf(msg + n, sizeof msg - (size_t)n, fmt, ap);
  va_end(ap);
  snprintf(msg + n, sizeof msg - (size_t)n, " (errno %d %s)\n", e, strerror(e));
  write_file("result", msg);
  _exit(1);
}
