// PID 1 of a pid namespace of its own (started by `unshare --pid --fork`),
// with a tree: two children (one leading its own process group, with a
// child of its own), a zombie child that exited 5, a worker thread, and a
// pidfd of child 0. After restore every task has the same pid in the
// namespace, the same parent and group, the thread its tid, the zombie
// its status, and the pidfd still refers to child 0.
#define _GNU_SOURCE
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "prog.h"

static atomic_int worker_tid;

static void* worker(void* arg) {
  (void)arg;
  worker_tid = gettid();
  for (;;) pause();
  return NULL;
}

static void child(int n, pid_t want_pid, pid_t want_ppid) {
  pid_t kid = 0;
  if (n == 1) {
    PROG_CHECK(setpgid(0, 0) == 0, "setpgid");
    kid = prog_fork_child(2);
    if (kid == 0) {
      prog_child_ready(2);
      prog_wait_go();
      PROG_CHECK(getppid() == want_pid, "grandchild's parent %d, want %d", getppid(), want_pid);
      PROG_CHECK(getpgid(0) == want_pid, "grandchild's group %d, want %d", getpgid(0), want_pid);
      prog_pass();
    }
  }
  prog_child_ready(n);
  prog_wait_go();
  PROG_CHECK(getpid() == want_pid, "child %d: pid %d, want %d", n, getpid(), want_pid);
  PROG_CHECK(getppid() == want_ppid, "child %d: parent %d, want %d", n, getppid(), want_ppid);
  if (n == 1) {
    PROG_CHECK(getpgid(0) == want_pid, "child 1 is not its group's leader");
    prog_check_child(kid, 2);
  }
  prog_pass();
}

int main(int argc, char** argv) {
  prog_init(argc, argv);
  PROG_CHECK(getpid() == 1, "run me as PID 1 of a pid namespace (unshare --pid --fork), not as %d", getpid());
  pthread_t th;
  PROG_CHECK(pthread_create(&th, NULL, worker, NULL) == 0, "pthread_create");
  while (worker_tid == 0) {
    struct timespec ts = {0, 1000000};
    nanosleep(&ts, NULL);
  }
  int tid = worker_tid;
  pid_t kids[2];
  for (int i = 0; i < 2; i++) {
    kids[i] = prog_fork_child(i);
    if (kids[i] == 0) child(i, getpid(), 1);
  }
  pid_t zombie = fork();
  if (zombie == 0) _exit(5);
  int pidfd = (int)syscall(SYS_pidfd_open, kids[0], 0);
  PROG_CHECK(pidfd >= 0, "pidfd_open");
  siginfo_t si;
  PROG_CHECK(waitid(P_PID, zombie, &si, WEXITED | WNOWAIT) == 0, "wait for the zombie to be one");
  prog_wait_children_ready(3);
  prog_ready();
  prog_wait_go();
  PROG_CHECK(getpid() == 1, "pid %d after restore", getpid());
  PROG_CHECK(worker_tid == tid && syscall(SYS_tgkill, 1, tid, 0) == 0, "the worker thread %d is gone", tid);
  // The pidfd still names child 0: signal 0 through it works while it lives.
  PROG_CHECK(syscall(SYS_pidfd_send_signal, pidfd, 0, NULL, 0) == 0, "the pidfd no longer names child 0");
  int st;
  PROG_CHECK(waitpid(zombie, &st, 0) == zombie && WIFEXITED(st) && WEXITSTATUS(st) == 5, "zombie status %#x", st);
  for (int i = 0; i < 2; i++) prog_check_child(kids[i], i);
  prog_pass();
}
