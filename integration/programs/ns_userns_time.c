// A tree in a user namespace of its own and in a time namespace that user
// namespace owns (monotonic +1000 s, boottime +2000 s): the root made it
// and entered it, its child was born there. After restore both are still
// in one time namespace with those offsets, owned by their user namespace.
#define _GNU_SOURCE
#include <sys/prctl.h>
#include <time.h>

#include "prog.h"
#include "userns.h"

// Realtime minus the clock: the offsets show in it, nothing else moves it.
static double skew(clockid_t c) {
  struct timespec r, m;
  clock_gettime(CLOCK_REALTIME, &r);
  clock_gettime(c, &m);
  return (double)(r.tv_sec - m.tv_sec) + (double)(r.tv_nsec - m.tv_nsec) / 1e9;
}

static void check(const char* who, ino_t ns, double mono, double boot) {
  PROG_CHECK(userns_ino_of("/proc/self/ns/time") == ns, "%s: another time namespace", who);
  PROG_CHECK(userns_owns("time"), "%s: the time namespace is not the user namespace's", who);
  char offsets[256] = "";
  userns_read("/proc/self/timens_offsets", offsets, sizeof offsets);
  long long m = 0, b = 0;
  char* at = strstr(offsets, "monotonic");
  PROG_CHECK(at && sscanf(at, "monotonic %lld", &m) == 1 && (at = strstr(offsets, "boottime")) &&
                 sscanf(at, "boottime %lld", &b) == 1 && m == 1000 && b == 2000,
             "%s: timens_offsets '%s'", who, offsets);
  double dm = skew(CLOCK_MONOTONIC) - mono, db = skew(CLOCK_BOOTTIME) - boot;
  PROG_CHECK(dm > -5 && dm < 5 && db > -5 && db < 5, "%s: the clocks moved by %.1f s and %.1f s", who, dm, db);
}

int main(int argc, char** argv) {
  prog_init(argc, argv);
  userns_enter();
  // Credentials changed on the way in: /proc/self is root's (outside)
  // until the process is dumpable again.
  PROG_CHECK(prctl(PR_SET_DUMPABLE, 1) == 0, "PR_SET_DUMPABLE");
  PROG_CHECK(unshare(CLONE_NEWTIME) == 0, "unshare(CLONE_NEWTIME) inside");
  int fd = open("/proc/self/timens_offsets", O_WRONLY | O_CLOEXEC);
  const char* off = "monotonic 1000 0\nboottime 2000 0\n";
  PROG_CHECK(fd >= 0 && write(fd, off, strlen(off)) == (ssize_t)strlen(off), "write timens_offsets");
  close(fd);
  int ns = open("/proc/self/ns/time_for_children", O_RDONLY | O_CLOEXEC);
  PROG_CHECK(ns >= 0 && setns(ns, CLONE_NEWTIME) == 0, "enter the time namespace");
  close(ns);
  ino_t tns = userns_ino_of("/proc/self/ns/time");
  double mono = skew(CLOCK_MONOTONIC), boot = skew(CLOCK_BOOTTIME);
  check("root", tns, mono, boot);
  pid_t child = prog_fork_child(0);
  if (child == 0) {
    prog_child_ready(0);
    prog_wait_go();
    char parent[64];
    snprintf(parent, sizeof parent, "/proc/%d/ns/time", (int)getppid());
    check("child", userns_ino_of(parent), mono, boot);
    prog_pass();
  }
  prog_wait_children_ready(1);
  prog_ready();
  prog_wait_go();
  // A namespace made anew has another inode: the root's own is the one.
  check("root", userns_ino_of("/proc/self/ns/time"), mono, boot);
  prog_check_child(child, 0);
  prog_pass();
}
