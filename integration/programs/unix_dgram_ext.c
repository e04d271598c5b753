// A datagram socket connected to an external one (dumped with
// --ext-unix-sk, per the .flags sidecar). The peer is a helper outside the
// dumped tree: the root forks an intermediate that calls setsid(), forks
// the helper and exits (the root reaps it), so the helper is reparented
// to the harness's reaper. The helper binds "ext.sock" in the prog dir;
// the root connects an unbound SOCK_DGRAM socket to it and sends "hello",
// which the helper reads before the dump. After restore the root's socket
// is still connected to "ext.sock" and sends 3 datagrams (of 5, 300 and
// 2000 bytes); the helper reads them, checks each, and reports in the file
// "helper-report" ("ok 3" or what went wrong), which the root checks. The
// helper always exits: after the 3 datagrams, or after 30 s.
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "prog.h"

static const int kLens[3] = {5, 300, 2000};
static struct sockaddr_un addr;
static socklen_t addr_len;

static unsigned char byte_at(int k, int i) { return (unsigned char)(i * 11 + k * 97 + i / 251); }

static double now_s(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

// The helper's report, written atomically (tmp + rename).
static _Noreturn void report(const char* text) {
  int fd = open("helper-report.tmp", O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd >= 0) {
    if (write(fd, text, strlen(text)) < 0) _exit(1);
    close(fd);
    rename("helper-report.tmp", "helper-report");
  }
  _exit(0);
}

// Receives one datagram into buf (waiting until the deadline); its length.
static ssize_t helper_recv(int s, unsigned char* buf, size_t size, double deadline) {
  for (;;) {
    int left = (int)((deadline - now_s()) * 1000);
    if (left <= 0) return -1;
    struct pollfd p = {.fd = s, .events = POLLIN};
    if (poll(&p, 1, left) == 1) return recv(s, buf, size, MSG_DONTWAIT);
  }
}

static _Noreturn void helper(void) {
  double deadline = now_s() + 30;
  char text[256];
  int s = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (s < 0 || bind(s, (struct sockaddr*)&addr, addr_len) != 0) report("helper: cannot bind ext.sock\n");
  prog_mark("helper-bound");
  unsigned char buf[4096];
  ssize_t n = helper_recv(s, buf, sizeof buf, deadline);
  if (n != 5 || memcmp(buf, "hello", 5) != 0) report("helper: no hello\n");
  prog_mark("helper-hello");
  for (int k = 0; k < 3; k++) {
    n = helper_recv(s, buf, sizeof buf, deadline);
    if (n < 0) {
      snprintf(text, sizeof text, "got %d of 3 datagrams in 30 s\n", k);
      report(text);
    }
    bool same = n == kLens[k];
    for (int i = 0; same && i < n; i++) same = buf[i] == byte_at(k, i);
    if (!same) {
      snprintf(text, sizeof text, "datagram %d: %zd bytes%s, want %d\n", k, n,
               n == kLens[k] ? " with wrong content" : "", kLens[k]);
      report(text);
    }
  }
  report("ok 3\n");
}

// Waits up to 15 s for the helper's report; returns its first line.
static void wait_report(char* out, size_t size) {
  for (int i = 0; i < 3000; i++) {
    int fd = open("helper-report", O_RDONLY | O_CLOEXEC);
    if (fd >= 0) {
      ssize_t n = read(fd, out, size - 1);
      close(fd);
      out[n > 0 ? n : 0] = 0;
      char* nl = strchr(out, '\n');
      if (nl != NULL) *nl = 0;
      return;
    }
    usleep(5000);
  }
  prog_fail("the helper never reported");
}

int main(int argc, char** argv) {
  prog_init(argc, argv);
  addr.sun_family = AF_UNIX;
  int len = snprintf(addr.sun_path, sizeof addr.sun_path, "%s/ext.sock", getenv("CRYO_PROG_DIR"));
  PROG_CHECK(len > 0 && (size_t)len < sizeof addr.sun_path, "socket path too long");
  addr_len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + (size_t)len + 1);

  pid_t mid = fork();
  PROG_CHECK(mid >= 0, "fork");
  if (mid == 0) {
    setsid();
    pid_t h = fork();
    if (h == 0) helper();
    _exit(h > 0 ? 0 : 1);
  }
  int st;
  PROG_CHECK(waitpid(mid, &st, 0) == mid && WIFEXITED(st) && WEXITSTATUS(st) == 0, "the intermediate failed");
  prog_wait_mark("helper-bound");

  int s = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  PROG_CHECK(s >= 0 && connect(s, (struct sockaddr*)&addr, addr_len) == 0, "connect to ext.sock");
  PROG_CHECK(send(s, "hello", 5, 0) == 5, "send hello");
  prog_wait_mark("helper-hello");
  prog_ready();
  prog_wait_go();

  struct sockaddr_un peer;
  socklen_t plen = sizeof peer;
  memset(&peer, 0, sizeof peer);
  PROG_CHECK(getpeername(s, (struct sockaddr*)&peer, &plen) == 0, "getpeername");
  PROG_CHECK(plen == addr_len && memcmp(&peer, &addr, addr_len) == 0, "peer is '%s', want '%s'",
             plen > offsetof(struct sockaddr_un, sun_path) ? peer.sun_path : "(unnamed)", addr.sun_path);
  unsigned char buf[4096];
  for (int k = 0; k < 3; k++) {
    for (int i = 0; i < kLens[k]; i++) buf[i] = byte_at(k, i);
    PROG_CHECK(send(s, buf, (size_t)kLens[k], 0) == kLens[k], "send datagram %d", k);
  }
  char text[256];
  wait_report(text, sizeof text);
  PROG_CHECK(strcmp(text, "ok 3") == 0, "the helper says: %s", text);
  prog_pass();
}
