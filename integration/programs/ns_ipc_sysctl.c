// A process in an IPC namespace of its own with its own limits (SysV
// message and shared memory limits, semaphore limits, POSIX message queue
// limits): after restore it is in an IPC namespace apart from the host's
// with the same values.
#define _GNU_SOURCE
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "prog.h"

static const char* const kFiles[] = {"kernel/msgmax", "kernel/msgmnb", "kernel/shmmni", "kernel/sem",
                                     "fs/mqueue/msg_max", "fs/mqueue/queues_max"};
static const char* const kValues[] = {"23456", "65432", "777", "250 32000 100 222", "42", "99"};

static void read_sysctl(const char* f, char* out, size_t n) {
  char path[128];
  snprintf(path, sizeof path, "/proc/sys/%s", f);
  int fd = open(path, O_RDONLY);
  PROG_CHECK(fd >= 0, "open %s", path);
  ssize_t r = read(fd, out, n - 1);
  PROG_CHECK(r > 0, "read %s", path);
  close(fd);
  out[r] = 0;
  for (char* c = out; *c; c++)
    if (*c == '\t') *c = ' ';
  char* nl = strchr(out, '\n');
  if (nl) *nl = 0;
}

static void write_sysctl(const char* f, const char* v) {
  char path[128];
  snprintf(path, sizeof path, "/proc/sys/%s", f);
  int fd = open(path, O_WRONLY);
  PROG_CHECK(fd >= 0 && write(fd, v, strlen(v)) == (ssize_t)strlen(v), "write %s", path);
  close(fd);
}

int main(int argc, char** argv) {
  prog_init(argc, argv);
  struct stat host;
  PROG_CHECK(stat("/proc/self/ns/ipc", &host) == 0, "stat the host's IPC namespace");
  PROG_CHECK(unshare(CLONE_NEWIPC) == 0, "unshare(CLONE_NEWIPC)");
  for (size_t i = 0; i < sizeof kFiles / sizeof *kFiles; i++) write_sysctl(kFiles[i], kValues[i]);
  prog_ready();
  prog_wait_go();
  for (size_t i = 0; i < sizeof kFiles / sizeof *kFiles; i++) {
    char v[128];
    read_sysctl(kFiles[i], v, sizeof v);
    PROG_CHECK(strcmp(v, kValues[i]) == 0, "%s is '%s', was '%s'", kFiles[i], v, kValues[i]);
  }
  struct stat now;
  PROG_CHECK(stat("/proc/self/ns/ipc", &now) == 0 && now.st_ino != host.st_ino, "back in the host's IPC namespace");
  prog_pass();
}
