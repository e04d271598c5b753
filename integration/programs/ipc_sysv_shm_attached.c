// SysV shared memory attached while dumped: a segment a parent and its
// child both have attached (writes of one seen by the other), one
// attached read-only, and one removed (IPC_RMID) but still attached.
// After restore each is attached at its address with its contents and
// protection, the attach counts are as before, the shared one is still
// shared both ways, and the removed one goes away once detached.
#define _GNU_SOURCE
#include <stdio.h>
#include <string.h>
#include <sys/shm.h>
#include <unistd.h>

#include "mnt.h"
#include "prog.h"

#define SIZE (3 * 4096 + 100)

static int nattch(int id) {
  struct shmid_ds ds;
  PROG_CHECK(shmctl(id, IPC_STAT, &ds) == 0, "IPC_STAT %d", id);
  return (int)ds.shm_nattch;
}

// The permissions /proc/self/maps shows for the mapping at `at`.
static void perms_at(const void* at, char out[5]) {
  FILE* f = fopen("/proc/self/maps", "r");
  PROG_CHECK(f != NULL, "maps");
  char line[512];
  out[0] = 0;
  while (fgets(line, sizeof line, f)) {
    unsigned long lo, hi;
    char p[5];
    if (sscanf(line, "%lx-%lx %4s", &lo, &hi, p) == 3 && lo == (unsigned long)at) snprintf(out, 5, "%s", p);
  }
  fclose(f);
}

int main(int argc, char** argv) {
  prog_init(argc, argv);
  mnt_require_container();
  int shared = shmget(0x5150, SIZE, IPC_CREAT | IPC_EXCL | 0600);
  int ro = shmget(IPC_PRIVATE, 4096, IPC_CREAT | 0600);
  int gone = shmget(IPC_PRIVATE, 8192, IPC_CREAT | 0600);
  PROG_CHECK(shared >= 0 && ro >= 0 && gone >= 0, "shmget");
  char* s = shmat(shared, NULL, 0);
  char* w = shmat(ro, NULL, 0);
  PROG_CHECK(s != (void*)-1 && w != (void*)-1, "shmat");
  strcpy(w, "read-only from now on");
  PROG_CHECK(shmdt(w) == 0, "shmdt");
  const char* r = shmat(ro, NULL, SHM_RDONLY);
  char* g = shmat(gone, NULL, 0);
  PROG_CHECK(r != (void*)-1 && g != (void*)-1, "shmat again");
  strcpy(g + 5000, "removed, not forgotten");
  PROG_CHECK(shmctl(gone, IPC_RMID, NULL) == 0, "IPC_RMID");
  strcpy(s, "the parent's");
  pid_t c = prog_fork_child(0);
  if (c == 0) {
    strcpy(s + SIZE - 20, "the child's");
    prog_child_ready(0);
    prog_wait_go();
    prog_wait_mark("parent-wrote");
    PROG_CHECK(strcmp(s + 2 * 4096, "after restore") == 0, "child: the parent's write after restore is not seen");
    strcpy(s + 4096, "child after restore");
    prog_mark("child-wrote");
    prog_pass();
  }
  prog_wait_children_ready(1);
  int before = nattch(shared);
  prog_ready();
  prog_wait_go();
  PROG_CHECK(strcmp(s, "the parent's") == 0 && strcmp(s + SIZE - 20, "the child's") == 0, "shared segment contents");
  PROG_CHECK(nattch(shared) == before && before == 2, "the shared segment has %d attaches, had %d", nattch(shared),
             before);
  PROG_CHECK(strcmp(r, "read-only from now on") == 0, "read-only segment contents");
  char p[5];
  perms_at(r, p);
  PROG_CHECK(strcmp(p, "r--s") == 0, "the read-only attach is '%s'", p);
  perms_at(s, p);
  PROG_CHECK(strcmp(p, "rw-s") == 0, "the shared attach is '%s'", p);
  PROG_CHECK(strcmp(g + 5000, "removed, not forgotten") == 0, "removed segment contents");
  struct shmid_ds ds;
  PROG_CHECK(shmctl(gone, IPC_STAT, &ds) == 0 && (ds.shm_perm.mode & SHM_DEST), "the removed segment is not marked so");
  strcpy(s + 2 * 4096, "after restore");
  prog_mark("parent-wrote");
  prog_wait_mark("child-wrote");
  PROG_CHECK(strcmp(s + 4096, "child after restore") == 0, "parent: the child's write after restore is not seen");
  prog_check_child(c, 0);
  PROG_CHECK(shmdt(g) == 0, "shmdt");
  PROG_CHECK(shmctl(gone, IPC_STAT, &ds) != 0, "the removed segment outlived its last attach");
  prog_pass();
}
