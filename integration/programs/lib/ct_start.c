// ct_start ROOTFS RUNDIR BINDIR PROG [ARGS...]: starts PROG the way a
// container runtime would, for the ns flavor of the state programs. It
// makes new pid, mount, UTS, IPC, network and cgroup namespaces; their
// PID 1 (this program's child) builds a container's mount tree on ROOTFS
// (proc with /proc/sys read-only, /proc/timer_list masked by /dev/null
// and /proc/acpi by a read-only tmpfs,
// sysfs, a tmpfs /dev with device nodes bound from the host, devpts with
// /dev/ptmx, a /dev/shm tmpfs holding a file, mqueue, the host's libraries
// and BINDIR read-only, RUNDIR at /run/prog), pivots into it and runs PROG
// as its child with CRYO_PROG_DIR=/run/prog, reaping orphans until PROG
// ends. Prints PID 1's pid (as this host sees it) and waits for it.
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <net/if.h>
#include <sys/socket.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

static void die(const char* what) {
  fprintf(stderr, "ct_start: %s: %s\n", what, strerror(errno));
  _exit(120);
}

static void must(int ok, const char* what) {
  if (!ok) die(what);
}

static void touch(const char* path) {
  int fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0 && errno != EEXIST) die(path);
  if (fd >= 0) close(fd);
}

static void bind_path(const char* from, const char* to, int ro, int file) {
  if (file) touch(to); else mkdir(to, 0755);
  must(mount(from, to, NULL, MS_BIND, NULL) == 0, to);
  if (ro) must(mount(NULL, to, NULL, MS_REMOUNT | MS_BIND | MS_RDONLY | MS_NOSUID, NULL) == 0, to);
}

// lo up, as a runtime leaves a container's network namespace.
static void lo_up(void) {
  int sk = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (sk < 0) die("socket");
  struct ifreq r;
  memset(&r, 0, sizeof r);
  strcpy(r.ifr_name, "lo");
  if (ioctl(sk, SIOCGIFFLAGS, &r) != 0) die("lo flags");
  r.ifr_flags |= IFF_UP;
  if (ioctl(sk, SIOCSIFFLAGS, &r) != 0) die("lo up");
  close(sk);
}

static void build_root(const char* root, const char* run, const char* bin) {
  char p[4096];
  must(mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) == 0, "make / private");
  must(mount(root, root, NULL, MS_BIND, NULL) == 0, "bind the rootfs");
  must(chdir(root) == 0, "chdir rootfs");
  must(mount("proc", "proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) == 0, "proc");
  bind_path("proc/sys", "proc/sys", 1, 0);
  // Masked as runc masks: a file by /dev/null, a directory by a read-only tmpfs.
  bind_path("/dev/null", "proc/timer_list", 0, 1);
  must(mount("tmpfs", "proc/acpi", "tmpfs", MS_RDONLY, NULL) == 0, "mask /proc/acpi");
  must(mount("sysfs", "sys", "sysfs", MS_NOSUID | MS_NODEV | MS_NOEXEC | MS_RDONLY, NULL) == 0, "sysfs");
  must(mount("tmpfs", "dev", "tmpfs", MS_NOSUID, "mode=755,size=65536k") == 0, "/dev");
  const char* nodes[] = {"null", "zero", "full", "random", "urandom", "tty"};
  for (size_t i = 0; i < sizeof nodes / sizeof *nodes; i++) {
    char from[64], to[64];
    snprintf(from, sizeof from, "/dev/%s", nodes[i]);
    snprintf(to, sizeof to, "dev/%s", nodes[i]);
    bind_path(from, to, 0, 1);
  }
  mkdir("dev/pts", 0755);
  must(mount("devpts", "dev/pts", "devpts", MS_NOSUID | MS_NOEXEC, "newinstance,ptmxmode=0666,mode=0620,gid=5") == 0, "devpts");
  must(symlink("pts/ptmx", "dev/ptmx") == 0, "/dev/ptmx");
  mkdir("dev/shm", 01777);
  must(mount("shm", "dev/shm", "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, "mode=1777,size=65536k") == 0, "/dev/shm");
  int fd = open("dev/shm/ct-marker", O_WRONLY | O_CREAT, 0640);
  must(fd >= 0 && write(fd, "kept in the container's /dev/shm\n", 33) == 33, "/dev/shm/ct-marker");
  close(fd);
  mkdir("dev/mqueue", 0755);
  must(mount("mqueue", "dev/mqueue", "mqueue", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) == 0, "mqueue");
  bind_path("/usr/lib/x86_64-linux-gnu", "usr/lib/x86_64-linux-gnu", 1, 0);
  snprintf(p, sizeof p, "%s", bin);
  bind_path(p, "prog", 1, 0);
  bind_path(run, "run/prog", 0, 0);
  // The rootfs becomes /, the host's mounts go.
  must(syscall(SYS_pivot_root, ".", ".") == 0, "pivot_root");
  must(umount2(".", MNT_DETACH) == 0, "detach the host's mounts");
  must(chdir("/") == 0, "chdir /");
  must(sethostname("cryo-ct", 7) == 0, "hostname");
}

// PID 1, exec'ed inside the container (its program file is the
// container's): stdio from inside, PROG as its child, orphans reaped.
static int init_main(char** prog_argv) {
  setsid();  // as a runtime's init: the container's first session
  int in = open("/dev/null", O_RDONLY), out = open("/run/prog/ct.out", O_WRONLY | O_CREAT | O_APPEND, 0644);
  if (in < 0 || out < 0) die("stdio");
  dup2(in, 0);
  dup2(out, 1);
  dup2(out, 2);
  close(in);
  close(out);
  setenv("CRYO_PROG_DIR", "/run/prog", 1);
  setenv("CRYO_FLAVOR", "ns", 1);
  char path[4096];
  snprintf(path, sizeof path, "/prog/%s", prog_argv[0]);
  pid_t prog = fork();
  if (prog < 0) die("fork");
  if (prog == 0) {
    // In its run directory and a session of its own, as on the host.
    setsid();
    if (chdir("/run/prog") != 0) die("chdir /run/prog");
    execv(path, prog_argv);
    die(path);
  }
  for (;;) {
    int st;
    pid_t got = wait(&st);
    if (got == prog) return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
    if (got < 0 && errno == ECHILD) return 0;
  }
}

int main(int argc, char** argv) {
  if (argc >= 3 && strcmp(argv[1], "--init") == 0) return init_main(argv + 2);
  if (argc < 5) {
    fprintf(stderr, "usage: ct_start ROOTFS RUNDIR BINDIR PROG [ARGS...]\n");
    return 2;
  }
  // This process stays in the host's namespaces but the pid one for children.
  if (unshare(CLONE_NEWPID) != 0) die("unshare pid");
  pid_t init = fork();
  if (init < 0) die("fork");
  if (init > 0) {
    printf("%d\n", init);
    fflush(stdout);
    int st;
    while (waitpid(init, &st, 0) < 0 && errno == EINTR) {
    }
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
  }
  if (unshare(CLONE_NEWNS | CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWNET | CLONE_NEWCGROUP) != 0) die("unshare");
  lo_up();
  build_root(argv[1], argv[2], argv[3]);
  argv[2] = "ct_start";
  argv[3] = "--init";
  execv("/prog/ct_start", argv + 2);
  die("exec /prog/ct_start");
}
