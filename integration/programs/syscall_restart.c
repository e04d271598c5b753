// Threads inside blocking syscalls when dumped: one in sigwaitinfo for a
// signal that only comes after restore, one in a pthread condition wait,
// one in pause(). Each syscall goes on after restore as if nothing had
// happened: the signal is received, the condition is seen, pause returns
// only for the signal that was sent.
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <unistd.h>

#include "prog.h"

static pid_t waiter_tid, pauser_tid;
static volatile int got_sig, cond_seen, pause_ret = 1, pause_errno;
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
static int flag;
static volatile sig_atomic_t usr2;

static void on_usr2(int s) { usr2 = s; }

static void* waiter(void* a) {
  (void)a;
  waiter_tid = gettid();
  sigset_t s;
  sigemptyset(&s);
  sigaddset(&s, SIGUSR1);
  siginfo_t si;
  int r;
  do r = sigwaitinfo(&s, &si); while (r < 0 && errno == EINTR);
  got_sig = r == SIGUSR1 && si.si_value.sival_int == 99;
  return NULL;
}

static void* conder(void* a) {
  (void)a;
  pthread_mutex_lock(&mu);
  while (!flag) pthread_cond_wait(&cv, &mu);
  pthread_mutex_unlock(&mu);
  cond_seen = 1;
  return NULL;
}

static void* pauser(void* a) {
  (void)a;
  pauser_tid = gettid();
  sigset_t s;
  sigemptyset(&s);
  sigaddset(&s, SIGUSR2);
  pthread_sigmask(SIG_UNBLOCK, &s, NULL);
  pause_ret = pause();
  pause_errno = errno;
  return NULL;
}

int main(int argc, char** argv) {
  prog_init(argc, argv);
  sigset_t block;
  sigemptyset(&block);
  sigaddset(&block, SIGUSR1);
  pthread_sigmask(SIG_BLOCK, &block, NULL);
  signal(SIGUSR2, on_usr2);
  pthread_t t[3];
  PROG_CHECK(pthread_create(&t[0], NULL, waiter, NULL) == 0, "waiter");
  PROG_CHECK(pthread_create(&t[1], NULL, conder, NULL) == 0, "conder");
  sigset_t usr2only;
  sigemptyset(&usr2only);
  sigaddset(&usr2only, SIGUSR2);
  pthread_sigmask(SIG_BLOCK, &usr2only, NULL);  // only the pauser takes USR2
  PROG_CHECK(pthread_create(&t[2], NULL, pauser, NULL) == 0, "pauser");
  usleep(50000);
  prog_ready();
  prog_wait_go();
  usleep(50000);
  PROG_CHECK(!got_sig && !cond_seen && pause_ret == 1, "a blocked syscall returned early");
  union sigval v = {.sival_int = 99};
  PROG_CHECK(sigqueue(getpid(), SIGUSR1, v) == 0, "sigqueue");
  pthread_mutex_lock(&mu);
  flag = 1;
  pthread_cond_broadcast(&cv);
  pthread_mutex_unlock(&mu);
  PROG_CHECK(tgkill(getpid(), pauser_tid, SIGUSR2) == 0, "tgkill");
  for (int i = 0; i < 3; i++) pthread_join(t[i], NULL);
  PROG_CHECK(got_sig, "sigwaitinfo did not get the signal after restore");
  PROG_CHECK(cond_seen, "condition wait did not wake");
  PROG_CHECK(pause_ret == -1 && pause_errno == EINTR && usr2 == SIGUSR2, "pause: %d %d", pause_ret, pause_errno);
  prog_pass();
}
