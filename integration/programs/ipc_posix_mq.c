// POSIX message queues: one with messages of several priorities and two
// descriptors of it (read-write non-blocking, write-only), one with a
// message that no descriptor holds open (it lives in the namespace by
// name), and an empty one a thread is blocked reading while dumped. After
// restore each queue has its limits, mode, owner and messages in order,
// the descriptors their access and flags, and the thread gets the message
// sent after restore. In the ns flavor the queues are the container's own
// IPC namespace's and are dumped with it; in the host flavor they are the
// host's and stay where they are, only the descriptors are reopened.
#define _GNU_SOURCE
#include <fcntl.h>
#include <mqueue.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "prog.h"

static char name_a[64], name_b[64], name_c[64];
static mqd_t qc, qb_notify = -1;
static char got_c[64];

static void unlink_all(void) {
  mq_unlink(name_a);
  mq_unlink(name_b);
  mq_unlink(name_c);
}

static void* reader(void* arg) {
  (void)arg;
  unsigned prio = 0;
  ssize_t n = mq_receive(qc, got_c, sizeof got_c, &prio);
  if (n < 0) strcpy(got_c, "(receive failed)");
  return NULL;
}

int main(int argc, char** argv) {
  prog_init(argc, argv);
  snprintf(name_a, sizeof name_a, "/cryo-mq-%d-a", getpid());
  snprintf(name_b, sizeof name_b, "/cryo-mq-%d-b", getpid());
  snprintf(name_c, sizeof name_c, "/cryo-mq-%d-c", getpid());
  unlink_all();
  atexit(unlink_all);
  struct mq_attr a = {.mq_maxmsg = 7, .mq_msgsize = 100};
  mqd_t rw = mq_open(name_a, O_CREAT | O_EXCL | O_RDWR | O_NONBLOCK, 0640, &a);
  PROG_CHECK(rw >= 0, "mq_open %s", name_a);
  mqd_t wo = mq_open(name_a, O_WRONLY);
  PROG_CHECK(wo >= 0, "mq_open %s write-only", name_a);
  PROG_CHECK(mq_send(rw, "low", 4, 1) == 0 && mq_send(wo, "high", 5, 9) == 0 && mq_send(rw, "mid", 4, 5) == 0 &&
                 mq_send(wo, "high again", 11, 9) == 0,
             "mq_send");
  struct mq_attr b = {.mq_maxmsg = 3, .mq_msgsize = 2000};
  mqd_t qb = mq_open(name_b, O_CREAT | O_EXCL | O_WRONLY, 0604, &b);
  PROG_CHECK(qb >= 0, "mq_open %s", name_b);
  char big[2000];
  for (size_t i = 0; i < sizeof big; i++) big[i] = (char)(i * 7);
  PROG_CHECK(mq_send(qb, big, sizeof big, 0) == 0, "mq_send %s", name_b);
  PROG_CHECK(fchown(qb, 1234, 5678) == 0, "fchown %s", name_b);
  PROG_CHECK(mq_close(qb) == 0, "mq_close");
  struct mq_attr c = {.mq_maxmsg = 2, .mq_msgsize = 64};
  qc = mq_open(name_c, O_CREAT | O_EXCL | O_RDWR, 0600, &c);
  PROG_CHECK(qc >= 0, "mq_open %s", name_c);
  pthread_t th;
  PROG_CHECK(pthread_create(&th, NULL, reader, NULL) == 0, "pthread_create");
  usleep(100 * 1000);  // the reader is blocked in mq_receive
  // MQ_NOTIFY=1: a notification is asked for, which cryo cannot dump (the
  // failures suite checks that the dump stops and leaves this running).
  if (getenv("MQ_NOTIFY")) {
    struct sigevent ev = {.sigev_notify = SIGEV_SIGNAL, .sigev_signo = SIGUSR1};
    PROG_CHECK(mq_notify(qb_notify = mq_open(name_b, O_RDONLY), &ev) == 0, "mq_notify");
  }
  prog_ready();
  prog_wait_go();

  struct mq_attr got;
  PROG_CHECK(mq_getattr(rw, &got) == 0 && got.mq_maxmsg == 7 && got.mq_msgsize == 100 && got.mq_curmsgs == 4 &&
                 (got.mq_flags & O_NONBLOCK),
             "queue a: maxmsg %ld msgsize %ld curmsgs %ld flags %lx", got.mq_maxmsg, got.mq_msgsize, got.mq_curmsgs,
             got.mq_flags);
  PROG_CHECK((fcntl(rw, F_GETFL) & O_ACCMODE) == O_RDWR && (fcntl(wo, F_GETFL) & (O_ACCMODE | O_NONBLOCK)) == O_WRONLY,
             "access modes %o %o", fcntl(rw, F_GETFL), fcntl(wo, F_GETFL));
  struct stat st;
  PROG_CHECK(fstat(rw, &st) == 0 && (st.st_mode & 07777) == 0640, "queue a: mode %o", st.st_mode & 07777);
  const char* order[] = {"high", "high again", "mid", "low"};
  const unsigned prios[] = {9, 9, 5, 1};
  for (int i = 0; i < 4; i++) {
    char m[100];
    unsigned prio = 0;
    ssize_t n = mq_receive(rw, m, sizeof m, &prio);
    PROG_CHECK(n == (ssize_t)strlen(order[i]) + 1 && strcmp(m, order[i]) == 0 && prio == prios[i],
               "queue a: message %d is \"%.*s\" (priority %u), not \"%s\" (%u)", i, n > 0 ? (int)n : 0, m, prio,
               order[i], prios[i]);
  }
  PROG_CHECK(mq_send(wo, "after", 6, 2) == 0, "send on the write-only descriptor");

  qb = mq_open(name_b, O_RDONLY | O_NONBLOCK);
  PROG_CHECK(qb >= 0, "queue b is gone");
  PROG_CHECK(fstat(qb, &st) == 0 && (st.st_mode & 07777) == 0604 && st.st_uid == 1234 && st.st_gid == 5678,
             "queue b: mode %o owner %u:%u", st.st_mode & 07777, st.st_uid, st.st_gid);
  PROG_CHECK(mq_getattr(qb, &got) == 0 && got.mq_maxmsg == 3 && got.mq_msgsize == 2000 && got.mq_curmsgs == 1,
             "queue b: maxmsg %ld msgsize %ld curmsgs %ld", got.mq_maxmsg, got.mq_msgsize, got.mq_curmsgs);
  char back[2000];
  PROG_CHECK(mq_receive(qb, back, sizeof back, NULL) == (ssize_t)sizeof big && memcmp(back, big, sizeof big) == 0,
             "queue b: its message");

  PROG_CHECK(mq_send(qc, "wake", 5, 0) == 0, "mq_send %s", name_c);
  PROG_CHECK(pthread_join(th, NULL) == 0 && strcmp(got_c, "wake") == 0, "the blocked reader got \"%s\"", got_c);
  prog_pass();
}
