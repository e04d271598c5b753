// SysV objects of the container's IPC namespace: a shared memory segment
// (contents, size, key, mode; not attached while dumped), a semaphore set
// with values, a message queue with messages of several types. After
// restore each is at its id with its key and mode, and holds what it did.
#define _GNU_SOURCE
#include <string.h>
#include <sys/msg.h>
#include <sys/sem.h>
#include <sys/shm.h>
#include <unistd.h>

#include "mnt.h"
#include "prog.h"

struct msg {
  long type;
  char text[64];
};

int main(int argc, char** argv) {
  prog_init(argc, argv);
  mnt_require_container();
  int shm = shmget(0xc0de, 3 * 4096 + 100, IPC_CREAT | IPC_EXCL | 0640);
  PROG_CHECK(shm >= 0, "shmget");
  char* m = shmat(shm, NULL, 0);
  PROG_CHECK(m != (void*)-1, "shmat");
  strcpy(m, "head of the segment");
  strcpy(m + 3 * 4096 + 50, "its tail");
  PROG_CHECK(shmdt(m) == 0, "shmdt");
  int sem = semget(IPC_PRIVATE, 4, IPC_CREAT | 0600);
  unsigned short v[4] = {1, 2, 32767, 0};
  PROG_CHECK(sem >= 0 && semctl(sem, 0, SETALL, v) == 0, "semaphores");
  int q = msgget(0xbeef, IPC_CREAT | 0620);
  PROG_CHECK(q >= 0, "msgget");
  struct msg a = {3, "three"}, b = {1, "one"}, c = {3, "three again"};
  PROG_CHECK(msgsnd(q, &a, 6, 0) == 0 && msgsnd(q, &b, 4, 0) == 0 && msgsnd(q, &c, 12, 0) == 0, "msgsnd");
  prog_ready();
  prog_wait_go();
  PROG_CHECK(shmget(0xc0de, 0, 0) == shm, "the segment is not at id %d", shm);
  struct shmid_ds sd;
  PROG_CHECK(shmctl(shm, IPC_STAT, &sd) == 0 && sd.shm_segsz == 3 * 4096 + 100 && (sd.shm_perm.mode & 0777) == 0640,
             "segment size %zu mode %o", sd.shm_segsz, sd.shm_perm.mode & 0777);
  m = shmat(shm, NULL, SHM_RDONLY);
  PROG_CHECK(m != (void*)-1 && strcmp(m, "head of the segment") == 0 && strcmp(m + 3 * 4096 + 50, "its tail") == 0,
             "segment contents");
  unsigned short got[4];
  PROG_CHECK(semctl(sem, 0, GETALL, got) == 0 && memcmp(got, v, sizeof v) == 0, "semaphore values %u %u %u %u",
             got[0], got[1], got[2], got[3]);
  PROG_CHECK(msgget(0xbeef, 0) == q, "the queue is not at id %d", q);
  struct msqid_ds qd;
  PROG_CHECK(msgctl(q, IPC_STAT, &qd) == 0 && qd.msg_qnum == 3 && (qd.msg_perm.mode & 0777) == 0620, "queue: %lu messages",
             (unsigned long)qd.msg_qnum);
  struct msg r;
  PROG_CHECK(msgrcv(q, &r, sizeof r.text, 1, IPC_NOWAIT) == 4 && strcmp(r.text, "one") == 0, "type 1: %s", r.text);
  PROG_CHECK(msgrcv(q, &r, sizeof r.text, 0, IPC_NOWAIT) == 6 && strcmp(r.text, "three") == 0, "first: %s", r.text);
  PROG_CHECK(msgrcv(q, &r, sizeof r.text, 0, IPC_NOWAIT) == 12 && strcmp(r.text, "three again") == 0, "second: %s", r.text);
  prog_pass();
}
