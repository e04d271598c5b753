// Owners of files for SIGIO (F_SETOWN_EX, F_SETSIG): a pipe owned by the
// process with SIGRTMIN+2, a socket owned by one thread with SIGUSR2, a
// pipe owned by a child process, a FIFO owned by the process with
// SIGRTMIN+4, and a pipe owned by the process group, set while the effective uid was
// 65534 (F_GETOWNER_UIDS shows it), with the plain SIGIO. After restore
// every owner, signal and owner uid reads back as it was, and data written
// to the process's pipe and the group's pipe raises their signals, with
// the pipe's fd in the siginfo where a signal was set.
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "prog.h"

#ifndef F_GETOWNER_UIDS
#define F_GETOWNER_UIDS 17
#endif

static pid_t thread_tid;
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;

static void* thread_main(void* arg) {
  (void)arg;
  pthread_mutex_lock(&mu);
  thread_tid = (pid_t)syscall(SYS_gettid);
  pthread_cond_broadcast(&cv);
  pthread_mutex_unlock(&mu);
  for (;;) pause();
  return NULL;
}

static void set_owner(int fd, int type, pid_t pid, int sig) {
  struct f_owner_ex o = {.type = type, .pid = pid};
  PROG_CHECK(fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_ASYNC | O_NONBLOCK) == 0, "O_ASYNC on fd %d", fd);
  PROG_CHECK(fcntl(fd, F_SETOWN_EX, &o) == 0, "F_SETOWN_EX fd %d", fd);
  PROG_CHECK(fcntl(fd, F_SETSIG, sig) == 0, "F_SETSIG fd %d", fd);
}

static void check_owner(int fd, int type, pid_t pid, int sig, uid_t uid, uid_t euid) {
  struct f_owner_ex o = {0};
  PROG_CHECK(fcntl(fd, F_GETOWN_EX, &o) == 0, "F_GETOWN_EX fd %d", fd);
  PROG_CHECK((int)o.type == type && o.pid == pid, "fd %d owner type %d pid %d, want %d %d", fd, o.type, o.pid, type, pid);
  int got = fcntl(fd, F_GETSIG);
  PROG_CHECK(got == sig, "fd %d signal %d, want %d", fd, got, sig);
  uint32_t uids[2] = {0, 0};
  PROG_CHECK(fcntl(fd, F_GETOWNER_UIDS, uids) == 0, "F_GETOWNER_UIDS fd %d", fd);
  PROG_CHECK(uids[0] == uid && uids[1] == euid, "fd %d owner uids %u %u, want %u %u", fd, uids[0], uids[1], uid,
             euid);
  PROG_CHECK(fcntl(fd, F_GETFL) & O_ASYNC, "fd %d lost O_ASYNC", fd);
}

// Writes a byte to `w` and waits (2 s) for `sig`; with `want_fd` >= 0 the
// siginfo names that fd.
static void expect_signal(int w, int sig, int want_fd) {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, sig);
  PROG_CHECK(write(w, "x", 1) == 1, "write to fd %d", w);
  struct timespec ts = {2, 0};
  siginfo_t si;
  int got = sigtimedwait(&set, &si, &ts);
  PROG_CHECK(got == sig, "no signal %d after writing to fd %d (got %d)", sig, w, got);
  if (want_fd >= 0)
    PROG_CHECK(si.si_fd == want_fd && si.si_code == POLL_IN, "signal %d: si_fd %d code %d, want fd %d POLL_IN", sig,
               si.si_fd, si.si_code, want_fd);
}

int main(int argc, char** argv) {
  prog_init(argc, argv);
  int sigp = SIGRTMIN + 2;
  sigset_t block;
  sigemptyset(&block);
  sigaddset(&block, sigp);
  sigaddset(&block, SIGUSR2);
  sigaddset(&block, SIGIO);
  sigaddset(&block, SIGRTMIN + 4);
  PROG_CHECK(sigprocmask(SIG_BLOCK, &block, NULL) == 0, "sigprocmask");
  pthread_t th;
  PROG_CHECK(pthread_create(&th, NULL, thread_main, NULL) == 0, "pthread_create");
  pthread_mutex_lock(&mu);
  while (thread_tid == 0) pthread_cond_wait(&cv, &mu);
  pthread_mutex_unlock(&mu);

  pid_t child = prog_fork_child(0);
  PROG_CHECK(child >= 0, "fork");
  if (child == 0) {
    prog_child_ready(0);
    prog_wait_go();
    prog_pass();
  }
  prog_wait_children_ready(1);

  int p[2], q[2], r[2], s[2];
  PROG_CHECK(pipe(p) == 0 && pipe(q) == 0 && pipe(r) == 0, "pipe");
  PROG_CHECK(socketpair(AF_UNIX, SOCK_STREAM, 0, s) == 0, "socketpair");
  set_owner(p[0], F_OWNER_PID, getpid(), sigp);
  set_owner(s[0], F_OWNER_TID, thread_tid, SIGUSR2);
  set_owner(r[0], F_OWNER_PID, child, SIGRTMIN + 3);
  PROG_CHECK(mkfifo("owned-fifo", 0600) == 0, "mkfifo");
  int fr = open("owned-fifo", O_RDONLY | O_NONBLOCK);
  int fw = open("owned-fifo", O_WRONLY | O_NONBLOCK);
  PROG_CHECK(fr >= 0 && fw >= 0, "open the FIFO");
  set_owner(fr, F_OWNER_PID, getpid(), SIGRTMIN + 4);
  PROG_CHECK(setresuid(-1, 65534, -1) == 0, "seteuid 65534");
  set_owner(q[0], F_OWNER_PGRP, getpgrp(), 0);
  PROG_CHECK(setresuid(-1, 0, -1) == 0, "seteuid back to 0");
  check_owner(q[0], F_OWNER_PGRP, getpgrp(), 0, 0, 65534);

  prog_ready();
  prog_wait_go();

  check_owner(p[0], F_OWNER_PID, getpid(), sigp, 0, 0);
  check_owner(s[0], F_OWNER_TID, thread_tid, SIGUSR2, 0, 0);
  check_owner(r[0], F_OWNER_PID, child, SIGRTMIN + 3, 0, 0);
  check_owner(fr, F_OWNER_PID, getpid(), SIGRTMIN + 4, 0, 0);
  check_owner(q[0], F_OWNER_PGRP, getpgrp(), 0, 0, 65534);
  expect_signal(p[1], sigp, p[0]);
  expect_signal(q[1], SIGIO, -1);
  expect_signal(fw, SIGRTMIN + 4, fr);
  prog_check_child(child, 0);
  prog_pass();
}
