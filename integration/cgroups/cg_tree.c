// The process tree the cgroups suite places into cgroups from outside: the
// root with a worker thread, child 0 with a worker thread, and child 1, a
// forker whose thread keeps forking short-lived children (so freezing has
// something to catch). Each process records its pid and threads' tids in
// the prog dir ("ids": "root PID TID", "c0 PID TID", "c1 PID TID"). After
// restore every worker must still be counting and every process must
// have its heap pattern; the forker must go on forking, its children
// exiting with status 7.
#define _GNU_SOURCE
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "prog.h"

#define HEAP_WORDS 4096

static atomic_long ticks;
static pid_t worker_tid;
static int forker;

static void nap(long us) {
  struct timespec ts = {0, us * 1000};
  nanosleep(&ts, NULL);
}

static void* work(void* arg) {
  (void)arg;
  worker_tid = gettid();
  for (;;) {
    if (forker) {
      pid_t c = fork();
      if (c == 0) _exit(7);
      if (c > 0) {
        int st = 0;
        if (waitpid(c, &st, 0) != c || !WIFEXITED(st) || WEXITSTATUS(st) != 7) prog_fail("forked child %d: status %#x", c, st);
      }
    }
    atomic_fetch_add(&ticks, 1);
    nap(2000);
  }
  return NULL;
}

static void record(const char* role) {
  char name[64], line[128];
  snprintf(name, sizeof name, "ids-%s", role);
  snprintf(line, sizeof line, "%s %d %d\n", role, getpid(), worker_tid);
  char path[512];
  snprintf(path, sizeof path, "%s/%s", getenv("CRYO_PROG_DIR"), name);
  FILE* f = fopen(path, "w");
  PROG_CHECK(f != NULL, "open %s", path);
  fputs(line, f);
  fclose(f);
}

// Sets up one process: heap pattern, worker thread; waits; checks.
static void member(const char* role, int who) {
  uint32_t* heap = malloc(HEAP_WORDS * sizeof *heap);
  PROG_CHECK(heap != NULL, "malloc");
  for (int k = 0; k < HEAP_WORDS; k++) heap[k] = (uint32_t)(k * 2654435761u) ^ (uint32_t)(who + 5);
  pthread_t th;
  PROG_CHECK(pthread_create(&th, NULL, work, NULL) == 0, "pthread_create");
  while (atomic_load(&ticks) == 0) nap(1000);
  record(role);
  if (who >= 0) prog_child_ready(who);
}

static void verify(int who) {
  long before = atomic_load(&ticks);
  for (int i = 0; i < 500 && atomic_load(&ticks) < before + 3; i++) nap(2000);
  PROG_CHECK(atomic_load(&ticks) >= before + 3, "worker thread stopped (%ld ticks)", before);
  (void)who;
}

int main(int argc, char** argv) {
  prog_init(argc, argv);
  pid_t kids[2];
  for (int i = 0; i < 2; i++) {
    kids[i] = prog_fork_child(i);
    if (kids[i] == 0) {
      forker = i == 1;
      member(i == 0 ? "c0" : "c1", i);
      prog_wait_go();
      verify(i);
      prog_pass();
    }
  }
  member("root", -1);
  prog_wait_children_ready(2);
  prog_ready();
  prog_wait_go();
  verify(-1);
  for (int i = 0; i < 2; i++) prog_check_child(kids[i], i);
  prog_pass();
}
