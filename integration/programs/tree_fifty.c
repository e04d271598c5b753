// Fifty processes in three levels: the root, 7 children (ids 0..6) and 6
// grandchildren under each (ids 7..48), the grandchildren in a mix of
// states by kind (id % 5):
//   0 plain: running;
//   1 stopped: SIGSTOPped, in a process group of its own, its stop
//     already reaped with WUNTRACED by its parent;
//   2 zombie: exited with status = its id, not reaped;
//   3 threads: three threads blocked on a condition variable;
//   4 shared files: made with clone(CLONE_FILES), sharing its parent's
//     fd table, holding /dev/null on fd 300+id of that table.
// The odd children have two threads of their own too. Every live process
// fills a heap buffer with a pattern of its own. After restore each
// process checks its memory, pid and parent; threads their TLS and tid;
// parents check their grandchildren: stopped ones are still stopped ('T')
// in their own group, then run on after SIGCONT; zombies are still 'Z'
// with their exit status; a shared-files grandchild's fd is still seen by
// its parent, and a new fd it opens after go is seen there too (the table
// is still shared). Everyone is reaped and passes.
#define _GNU_SOURCE
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <unistd.h>

#include "prog.h"

#define NCHILD 7
#define NGRAND 6  // per child
#define NIDS (NCHILD + NCHILD * NGRAND)
#define WORDS 4096
#define NTHR 3

enum kind { PLAIN, STOPPED, ZOMBIE, THREADS, SHARED_FILES };
static enum kind kind_of(int id) { return (enum kind)(id % 5); }

// --- memory: a heap buffer with a pattern per id ---

static uint32_t word(int id, int k) { return (uint32_t)(id + 3) * 0x9e3779b1u ^ (uint32_t)k * 40503u; }

struct self {
  int id;
  pid_t pid, ppid;
  uint32_t* heap;
};

static struct self remember(int id) {
  struct self s = {id, getpid(), getppid(), malloc(WORDS * sizeof(uint32_t))};
  PROG_CHECK(s.heap != NULL, "malloc");
  for (int k = 0; k < WORDS; k++) s.heap[k] = word(id, k);
  return s;
}

static void check_self(const struct self* s) {
  PROG_CHECK(getpid() == s->pid, "%d: getpid %d, was %d", s->id, getpid(), s->pid);
  // The root's parent is spawn, which exits on its own time.
  if (s->id != -1) PROG_CHECK(getppid() == s->ppid, "%d: getppid %d, was %d", s->id, getppid(), s->ppid);
  for (int k = 0; k < WORDS; k++) PROG_CHECK(s->heap[k] == word(s->id, k), "%d: heap word %d", s->id, k);
}

// --- threads: NTHR of them, blocked until finish_threads ---

static __thread uint64_t tls;
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
static int started, released, owner_id;
static pid_t tids[NTHR];
static int ok[NTHR];
static pthread_t th[NTHR];

static uint64_t tls_for(int t) { return 0x5500000000ull + (uint64_t)owner_id * 16 + (uint64_t)t; }

static void* worker(void* arg) {
  int t = (int)(intptr_t)arg;
  tls = tls_for(t);
  tids[t] = gettid();
  pthread_mutex_lock(&mu);
  started++;
  pthread_cond_broadcast(&cv);
  while (!released) pthread_cond_wait(&cv, &mu);
  pthread_mutex_unlock(&mu);
  ok[t] = tls == tls_for(t) && tids[t] == gettid() && gettid() != getpid();
  return NULL;
}

static void start_threads(int id) {
  owner_id = id;
  for (int t = 0; t < NTHR; t++)
    PROG_CHECK(pthread_create(&th[t], NULL, worker, (void*)(intptr_t)t) == 0, "%d: pthread_create", id);
  pthread_mutex_lock(&mu);
  while (started < NTHR) pthread_cond_wait(&cv, &mu);
  pthread_mutex_unlock(&mu);
}

static void finish_threads(void) {
  pthread_mutex_lock(&mu);
  released = 1;
  pthread_cond_broadcast(&cv);
  pthread_mutex_unlock(&mu);
  for (int t = 0; t < NTHR; t++) PROG_CHECK(pthread_join(th[t], NULL) == 0, "%d: join thread %d", owner_id, t);
  for (int t = 0; t < NTHR; t++) PROG_CHECK(ok[t], "%d: thread %d (tid %d) lost its TLS or tid", owner_id, t, tids[t]);
}

// --- shared fd table ---

static bool is_chr(int fd, unsigned maj, unsigned min) {
  struct stat st;
  return fstat(fd, &st) == 0 && S_ISCHR(st.st_mode) && major(st.st_rdev) == maj && minor(st.st_rdev) == min;
}

static void put_fd(const char* path, int at) {
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  PROG_CHECK(fd >= 0 && dup2(fd, at) == at, "open %s onto fd %d", path, at);
  close(fd);
}

static void marked(const char* what, int id, bool wait) {
  char name[32];
  snprintf(name, sizeof name, "%s-%d", what, id);
  if (wait)
    prog_wait_mark(name);
  else
    prog_mark(name);
}

// --- grandchildren ---

// A grandchild of a kind other than ZOMBIE (which just exits). Made by a
// raw clone for SHARED_FILES: no raise() or pthreads there, glibc's
// thread pointer still describes the parent.
static _Noreturn void grandchild(int id) {
  enum kind k = kind_of(id);
  if (k == STOPPED) PROG_CHECK(setpgid(0, 0) == 0, "%d: setpgid", id);
  if (k == THREADS) start_threads(id);
  if (k == SHARED_FILES) put_fd("/dev/null", 300 + id);
  struct self me = remember(id);
  prog_child_ready(id);
  if (k == STOPPED) kill(getpid(), SIGSTOP);
  prog_wait_go();
  check_self(&me);
  if (k == STOPPED) PROG_CHECK(getpgrp() == getpid(), "%d: group %d, want its own", id, getpgrp());
  if (k == THREADS) finish_threads();
  if (k == SHARED_FILES) {
    PROG_CHECK(is_chr(300 + id, 1, 3), "%d: fd %d is no longer /dev/null", id, 300 + id);
    put_fd("/dev/zero", 400 + id);
    marked("new-fd", id, false);
    marked("fd-seen", id, true);  // the parent closes it
  }
  prog_pass();
}

static pid_t spawn_grandchild(int id) {
  if (kind_of(id) == SHARED_FILES) {
    pid_t pid = (pid_t)syscall(SYS_clone, CLONE_FILES | SIGCHLD, NULL, NULL, NULL, 0);
    PROG_CHECK(pid >= 0, "clone(CLONE_FILES) %d", id);
    if (pid == 0) {
      prog_be_child(id);
      grandchild(id);
    }
    return pid;
  }
  pid_t pid = prog_fork_child(id);
  if (pid == 0) {
    if (kind_of(id) == ZOMBIE) _exit(id);
    grandchild(id);
  }
  return pid;
}

// In the parent, before the dump: the grandchild is in its state.
static void settle(int id, pid_t pid) {
  if (kind_of(id) == STOPPED) {
    setpgid(pid, pid);  // also from this side, as a shell does
    int st;
    PROG_CHECK(waitpid(pid, &st, WUNTRACED) == pid, "waitpid WUNTRACED %d", id);
    PROG_CHECK(WIFSTOPPED(st) && WSTOPSIG(st) == SIGSTOP, "%d did not stop: status %#x", id, st);
  } else if (kind_of(id) == ZOMBIE) {
    for (int i = 0; prog_proc_state(pid) != 'Z'; i++) {
      PROG_CHECK(i < 3000, "%d never became a zombie", id);
      usleep(5000);
    }
    prog_child_ready(id);  // on its behalf
  } else if (kind_of(id) == SHARED_FILES) {
    marked("ready", id, true);
    PROG_CHECK(is_chr(300 + id, 1, 3),
               "before the dump: fd %d of shared-files grandchild %d is not in its parent's table", 300 + id, id);
  }
}

// In the parent, after go: checks the grandchild and reaps it.
static void check_grandchild(int id, pid_t pid) {
  enum kind k = kind_of(id);
  if (k == STOPPED) {
    char s = prog_proc_state(pid);
    PROG_CHECK(kill(pid, SIGCONT) == 0, "SIGCONT %d", id);  // first, so a failure leaves no stopped process
    PROG_CHECK(s == 'T', "%d (pid %d): state '%c', want stopped 'T'", id, pid, s ? s : '?');
    PROG_CHECK(getpgid(pid) == pid, "%d: group %d, want its own", id, getpgid(pid));
  } else if (k == ZOMBIE) {
    char s = prog_proc_state(pid);
    PROG_CHECK(s == 'Z', "%d (pid %d): state '%c', want zombie 'Z'", id, pid, s ? s : '?');
    int st;
    PROG_CHECK(waitpid(pid, &st, WNOHANG) == pid, "waitpid zombie %d", id);
    PROG_CHECK(WIFEXITED(st) && WEXITSTATUS(st) == id, "zombie %d: status %#x, want exit %d", id, st, id);
    return;
  } else if (k == SHARED_FILES) {
    PROG_CHECK(is_chr(300 + id, 1, 3), "fd %d of shared-files grandchild %d is gone from its parent", 300 + id, id);
    marked("new-fd", id, true);
    PROG_CHECK(is_chr(400 + id, 1, 5),
               "the fd %d grandchild %d opened after go is not in its parent's table: not shared", 400 + id, id);
    close(400 + id);
    marked("fd-seen", id, false);
  }
  prog_check_child(pid, id);
}

// --- children ---

static _Noreturn void child(int c) {
  struct self me = remember(c);
  pid_t kids[NGRAND];
  int ids[NGRAND];
  for (int g = 0; g < NGRAND; g++) {
    ids[g] = NCHILD + c * NGRAND + g;
    kids[g] = spawn_grandchild(ids[g]);
  }
  for (int g = 0; g < NGRAND; g++) settle(ids[g], kids[g]);
  if (c % 2 == 1) start_threads(c);
  prog_child_ready(c);
  prog_wait_go();
  check_self(&me);
  if (c % 2 == 1) finish_threads();
  for (int g = 0; g < NGRAND; g++) check_grandchild(ids[g], kids[g]);
  prog_pass();
}

int main(int argc, char** argv) {
  prog_init(argc, argv);
  struct self me = remember(-1);
  pid_t kids[NCHILD];
  for (int c = 0; c < NCHILD; c++) {
    kids[c] = prog_fork_child(c);
    if (kids[c] == 0) child(c);
  }
  prog_wait_children_ready(NIDS);
  prog_ready();
  prog_wait_go();
  check_self(&me);
  for (int c = 0; c < NCHILD; c++) prog_check_child(kids[c], c);
  prog_pass();
}
