#define _GNU_SOURCE
#include "prog.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

// Fixed-size buffer so no allocation happens after the state is set up.
static char g_dir[512];
// In a process tree: the root's pid, and which child this process is (-1:
// the root, or a program without children).
static pid_t g_root;
static int g_child = -1;

static _Noreturn __attribute__((format(printf, 1, 2))) void fail_plain(const char* fmt, ...);

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

static bool exists(const char* name) {
  char p[600];
  struct stat st;
  path_of(p, sizeof p, name);
  return stat(p, &st) == 0;
}

static double now_s(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static void nap(void) {
  struct timespec t = {0, 5 * 1000 * 1000};
  nanosleep(&t, NULL);
}

// A child stops waiting once the root has its verdict or is gone, so a
// failed run leaves no process behind.
static void give_up_if_orphaned(void) {
  if (g_child < 0) return;
  if (exists("result")) fail_plain("the root gave its verdict first");
  if (kill(g_root, 0) != 0 && errno == ESRCH) fail_plain("the root is gone");
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
  g_root = getpid();
}

void prog_ready(void) { write_file("ready", "ready\n"); }

void prog_wait_go(void) {
  while (!exists("go")) {
    give_up_if_orphaned();
    nap();
  }
}

void prog_pass(void) {
  if (g_child >= 0) _exit(0);
  write_file("result", "PASS\n");
  _exit(0);
}

// "why (errno N text)" into msg; e < 0: no errno context.
static void format_why(char* msg, size_t size, int e, const char* fmt, va_list ap) {
  int n = vsnprintf(msg, size, fmt, ap);
  if (n < 0 || (size_t)n >= size) n = (int)size - 1;
  if (e >= 0)
    snprintf(msg + n, size - (size_t)n, " (errno %d %s)\n", e, strerror(e));
  else
    snprintf(msg + n, size - (size_t)n, "\n");
}

static _Noreturn void child_fail(int n, int e, const char* fmt, va_list ap) {
  char name[32], msg[1024];
  format_why(msg, sizeof msg, e, fmt, ap);
  snprintf(name, sizeof name, "fail-%d", n);
  write_file(name, msg);
  _exit(1);
}

static _Noreturn void fail(int e, const char* fmt, va_list ap) {
  char msg[1024];
  if (g_child >= 0) child_fail(g_child, e, fmt, ap);
  int n = snprintf(msg, sizeof msg, "FAIL: ");
  format_why(msg + n, sizeof msg - (size_t)n, e, fmt, ap);
  write_file("result", msg);
  _exit(1);
}

void prog_fail(const char* fmt, ...) {
  int e = errno;
  va_list ap;
  va_start(ap, fmt);
  fail(e, fmt, ap);
}

// For failures whose errno means nothing (a child's text carries its own).
static _Noreturn __attribute__((format(printf, 1, 2))) void fail_plain(const char* fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  fail(-1, fmt, ap);
}

void prog_be_child(int n) { g_child = n; }

pid_t prog_fork_child(int n) {
  pid_t pid = fork();
  if (pid < 0) prog_fail("fork child %d", n);
  if (pid == 0) prog_be_child(n);
  return pid;
}

void prog_child_fail(int n, const char* fmt, ...) {
  int e = errno;
  va_list ap;
  va_start(ap, fmt);
  g_child = n;
  child_fail(n, e, fmt, ap);
}

void prog_child_ready(int n) {
  char name[32];
  snprintf(name, sizeof name, "ready-%d", n);
  write_file(name, "ready\n");
}

// The text child N left in fail-N (without its newline), or "".
static void fail_text(int n, char* out, size_t size) {
  char name[32], p[600];
  snprintf(name, sizeof name, "fail-%d", n);
  path_of(p, sizeof p, name);
  out[0] = 0;
  int fd = open(p, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return;
  ssize_t len = read(fd, out, size - 1);
  close(fd);
  if (len < 0) len = 0;
  out[len] = 0;
  if (len > 0 && out[len - 1] == '\n') out[len - 1] = 0;
}

void prog_wait_children_ready(int count) {
  double deadline = now_s() + 15;
  char name[32], why[900];
  for (int i = 0; i < count;) {
    for (int k = 0; k < count; k++) {
      snprintf(name, sizeof name, "fail-%d", k);
      if (exists(name)) {
        fail_text(k, why, sizeof why);
        fail_plain("child %d before ready: %s", k, why);
      }
    }
    snprintf(name, sizeof name, "ready-%d", i);
    if (exists(name)) {
      i++;
      continue;
    }
    give_up_if_orphaned();
    if (now_s() > deadline) fail_plain("child %d of %d never became ready", i, count);
    nap();
  }
}

void prog_check_child(pid_t pid, int n) {
  int st;
  pid_t got;
  while ((got = waitpid(pid, &st, 0)) < 0 && errno == EINTR) {
  }
  if (got < 0) prog_fail("waitpid child %d (pid %d)", n, pid);
  if (WIFEXITED(st) && WEXITSTATUS(st) == 0) return;
  char why[900];
  fail_text(n, why, sizeof why);
  if (why[0] != 0) fail_plain("child %d: %s", n, why);
  if (WIFSIGNALED(st)) fail_plain("child %d (pid %d) killed by signal %d", n, got, WTERMSIG(st));
  fail_plain("child %d (pid %d) exited with %d", n, got, WEXITSTATUS(st));
}

void prog_mark(const char* name) { write_file(name, "mark\n"); }

void prog_wait_mark(const char* name) {
  double deadline = now_s() + 15;
  while (!exists(name)) {
    give_up_if_orphaned();
    if (now_s() > deadline) fail_plain("step %s never came", name);
    nap();
  }
}

char prog_proc_state(pid_t pid) {
  char p[64], buf[512];
  snprintf(p, sizeof p, "/proc/%d/stat", pid);
  int fd = open(p, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return 0;
  ssize_t len = read(fd, buf, sizeof buf - 1);
  close(fd);
  if (len <= 0) return 0;
  buf[len] = 0;
  char* paren = strrchr(buf, ')');  // the name may hold spaces and parens
  return paren != NULL && paren[1] == ' ' ? paren[2] : 0;
}
