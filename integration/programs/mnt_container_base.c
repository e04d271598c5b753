// The container ct_start builds, as a whole: after restore its mount
// table reads as before (same mounts, roots, options, order, peer
// groups), proc is the container's pid namespace's (/proc/self is this
// process, /proc/1 is its init), /proc/sys is read-only, /proc/timer_list
// is masked by /dev/null and /proc/acpi by an empty read-only tmpfs, sysfs
// is read-only and the network namespace's (only lo), /dev/shm still
// holds its file, /dev/pts is a devpts of its own, mqueue is mounted.
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statfs.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <sys/mount.h>

#include "mnt.h"
#include "prog.h"

static char before[65536], after[65536];

static void check(void) {
  char buf[4096];
  snprintf(buf, sizeof buf, "%d", getpid());
  char self[64];
  ssize_t n = readlink("/proc/self", self, sizeof self - 1);
  PROG_CHECK(n > 0, "readlink /proc/self");
  self[n] = 0;
  PROG_CHECK(strcmp(self, buf) == 0, "/proc/self is %s, this is %s", self, buf);
  mnt_read("/proc/1/comm", buf, sizeof buf);
  PROG_CHECK(strcmp(buf, "ct_start\n") == 0, "/proc/1 is %s", buf);
  int fd = open("/proc/sys/kernel/hostname", O_WRONLY);
  PROG_CHECK(fd < 0 && errno == EROFS, "/proc/sys is writable");
  mnt_read("/proc/timer_list", buf, sizeof buf);
  PROG_CHECK(buf[0] == 0, "/proc/timer_list is not masked");
  PROG_CHECK(open("/proc/acpi/x", O_WRONLY | O_CREAT, 0644) < 0 && errno == EROFS, "/proc/acpi is writable");
  struct statvfs sv;
  PROG_CHECK(statvfs("/sys", &sv) == 0 && (sv.f_flag & ST_RDONLY), "/sys is not read-only");
  DIR* d = opendir("/sys/class/net");
  PROG_CHECK(d, "opendir /sys/class/net");
  struct dirent* e;
  int links = 0;
  while ((e = readdir(d)))
    if (e->d_name[0] != '.') {
      PROG_CHECK(strcmp(e->d_name, "lo") == 0, "sysfs shows %s: not the container's network namespace", e->d_name);
      links++;
    }
  closedir(d);
  PROG_CHECK(links == 1, "%d links in /sys/class/net", links);
  mnt_read("/dev/shm/ct-marker", buf, sizeof buf);
  PROG_CHECK(strcmp(buf, "kept in the container's /dev/shm\n") == 0, "/dev/shm/ct-marker holds '%s'", buf);
  struct statfs sf;
  PROG_CHECK(statfs("/dev/mqueue", &sf) == 0 && sf.f_type == 0x19800202, "/dev/mqueue is not an mqueue");
  PROG_CHECK(statfs("/dev/pts", &sf) == 0 && sf.f_type == 0x1cd1, "/dev/pts is not a devpts");
  int m = open("/dev/ptmx", O_RDWR | O_NOCTTY);
  PROG_CHECK(m >= 0, "open /dev/ptmx");
  PROG_CHECK(ptsname_r(m, buf, sizeof buf) == 0 && strcmp(buf, "/dev/pts/0") == 0,
             "the first pty of the container's devpts is %s", buf);
  close(m);
  char host[64];
  PROG_CHECK(gethostname(host, sizeof host) == 0 && strcmp(host, "cryo-ct") == 0, "hostname %s", host);
}

int main(int argc, char** argv) {
  prog_init(argc, argv);
  mnt_require_container();
  check();
  mnt_snapshot(before, sizeof before);
  prog_ready();
  prog_wait_go();
  mnt_snapshot(after, sizeof after);
  PROG_CHECK(strcmp(before, after) == 0, "mountinfo was\n%s\nnow\n%s", before, after);
  check();
  prog_pass();
}
