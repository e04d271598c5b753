// One end of a TCP connection that streams both ways at once, for the
// tcp suite: each end sends TOTAL bytes of a pattern at a steady rate
// while it checks every byte it receives against the other end's, so a
// byte lost, repeated or reordered by a checkpoint in between shows.
//   tcp_stream server|client ADDR PORT DIR [--wait]
// --wait: start only once DIR/start exists (the test sets up the network
// first). DIR/ready-ROLE marks the connection up; DIR/result-ROLE holds
// "PASS ..." or "FAIL: why" at the end, after both directions finished.
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define TOTAL (6u << 20)
#define CHUNK 16384
#define PERIOD_MS 5

static const char* dir;
static const char* role;

static void put(const char* name, const char* text) {
  char path[512], tmp[520];
  snprintf(path, sizeof path, "%s/%s-%s", dir, name, role);
  snprintf(tmp, sizeof tmp, "%s.tmp", path);
  FILE* f = fopen(tmp, "w");
  if (!f) exit(2);
  fputs(text, f);
  fclose(f);
  rename(tmp, path);
}

static _Noreturn void fail(const char* fmt, ...) {
  char buf[400];
  va_list ap;
  va_start(ap, fmt);
  int n = snprintf(buf, sizeof buf, "FAIL: ");
  vsnprintf(buf + n, sizeof buf - (size_t)n, fmt, ap);
  va_end(ap);
  size_t len = strlen(buf);
  snprintf(buf + len, sizeof buf - len, " (errno %d %s)\n", errno, strerror(errno));
  put("result", buf);
  exit(1);
}

static unsigned char byte_at(int seed, size_t k) { return (unsigned char)(k * 7 + k / 509 + (size_t)seed * 91); }

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static socklen_t address(const char* text, int port, struct sockaddr_storage* a) {
  memset(a, 0, sizeof *a);
  struct sockaddr_in* v4 = (struct sockaddr_in*)a;
  struct sockaddr_in6* v6 = (struct sockaddr_in6*)a;
  if (inet_pton(AF_INET, text, &v4->sin_addr) == 1) {
    v4->sin_family = AF_INET;
    v4->sin_port = htons((unsigned short)port);
    return sizeof *v4;
  }
  if (inet_pton(AF_INET6, text, &v6->sin6_addr) != 1) fail("bad address %s", text);
  v6->sin6_family = AF_INET6;
  v6->sin6_port = htons((unsigned short)port);
  return sizeof *v6;
}

int main(int argc, char** argv) {
  if (argc < 5) return 2;
  role = argv[1];
  dir = argv[4];
  int server = strcmp(role, "server") == 0;
  if (argc > 5 && strcmp(argv[5], "--wait") == 0) {
    char path[512];
    snprintf(path, sizeof path, "%s/start", dir);
    for (int i = 0; access(path, F_OK) != 0; i++) {
      if (i > 3000) fail("no start file");
      usleep(10000);
    }
  }
  struct sockaddr_storage a;
  socklen_t len = address(argv[2], atoi(argv[3]), &a);
  int sk = -1, listener = -1;
  if (server) {
    listener = socket(a.ss_family, SOCK_STREAM, 0);
    int one = 1;
    setsockopt(listener, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (listener < 0 || bind(listener, (struct sockaddr*)&a, len) != 0 || listen(listener, 4) != 0) fail("listen");
    put("listening", "\n");
    sk = accept(listener, NULL, NULL);
    if (sk < 0) fail("accept");
  } else {
    for (int i = 0;; i++) {
      sk = socket(a.ss_family, SOCK_STREAM, 0);
      if (connect(sk, (struct sockaddr*)&a, len) == 0) break;
      close(sk);
      if (i > 500) fail("connect to %s", argv[2]);
      usleep(10000);
    }
  }
  if (fcntl(sk, F_SETFL, O_NONBLOCK) != 0) fail("O_NONBLOCK");
  int mine = server ? 1 : 2, theirs = server ? 2 : 1;
  size_t sent = 0, got = 0;
  unsigned char out[CHUNK], in[65536];
  double start = now(), next = start;
  int eof = 0, shut = 0;
  put("ready", "\n");
  while (!(shut && eof)) {
    if (now() - start > 90) fail("timed out: sent %zu received %zu", sent, got);
    if (sent == TOTAL && !shut) {
      if (shutdown(sk, SHUT_WR) != 0) fail("shutdown");
      shut = 1;
    }
    struct pollfd p = {sk, POLLIN | (sent < TOTAL && now() >= next ? POLLOUT : 0), 0};
    if (poll(&p, 1, PERIOD_MS) < 0 && errno != EINTR) fail("poll");
    if (p.revents & (POLLERR | POLLNVAL)) {
      int e = 0;
      socklen_t l = sizeof e;
      getsockopt(sk, SOL_SOCKET, SO_ERROR, &e, &l);
      errno = e;
      fail("socket error after sending %zu and receiving %zu", sent, got);
    }
    if (p.revents & POLLIN) {
      ssize_t n = recv(sk, in, sizeof in, 0);
      if (n < 0 && errno != EAGAIN && errno != EINTR) fail("recv after %zu bytes", got);
      if (n == 0) {
        if (got != TOTAL) fail("EOF after %zu of %u bytes", got, TOTAL);
        eof = 1;
      }
      for (ssize_t i = 0; i < n; i++, got++)
        if (got >= TOTAL || in[i] != byte_at(theirs, got)) fail("byte %zu of the stream differs", got);
    }
    if ((p.revents & POLLOUT) && sent < TOTAL) {
      size_t n = TOTAL - sent < CHUNK ? TOTAL - sent : CHUNK;
      for (size_t i = 0; i < n; i++) out[i] = byte_at(mine, sent + i);
      ssize_t w = send(sk, out, n, MSG_NOSIGNAL);
      if (w < 0 && errno != EAGAIN && errno != EINTR) fail("send after %zu bytes", sent);
      if (w > 0) sent += (size_t)w;
      next += PERIOD_MS / 1000.0;
    }
  }
  char text[128];
  snprintf(text, sizeof text, "PASS sent %zu received %zu in %.1f s\n", sent, got, now() - start);
  put("result", text);
  return 0;
}
