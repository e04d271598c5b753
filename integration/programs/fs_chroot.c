// Two children chrooted into a directory of the prog dir: one with its cwd
// below the new root and a file open there, one whose cwd stayed outside
// it (chroot without chdir). After restore both roots are the jail, the
// cwds are where they were, and names resolve from there. The children
// cannot see the prog dir: they wait on pipes and answer by exit status.
#define _GNU_SOURCE
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "prog.h"

#define MARK "inside the jail\n"

static bool same(const struct stat* a, const struct stat* b) { return a->st_dev == b->st_dev && a->st_ino == b->st_ino; }

static bool reads_mark(int fd) {
  char buf[64] = {0};
  return pread(fd, buf, sizeof buf - 1, 0) == (ssize_t)strlen(MARK) && strcmp(buf, MARK) == 0;
}

// Each failed check is its own exit code.
static int inside(const struct stat* jail, const struct stat* inner) {
  if (chroot("jail") != 0 || chdir("/inner") != 0) return 10;
  int fd = open("/marker", O_RDONLY);
  if (fd < 0) return 11;
  char c;
  if (write(1023, "r", 1) != 1 || read(1022, &c, 1) != 1) return 12;
  struct stat root, up, cwd;
  if (stat("/", &root) != 0 || stat("/..", &up) != 0 || !same(&root, jail) || !same(&up, jail)) return 13;
  char buf[64];
  if (!getcwd(buf, sizeof buf) || strcmp(buf, "/inner") != 0 || stat(".", &cwd) != 0 || !same(&cwd, inner)) return 14;
  if (!reads_mark(fd)) return 15;
  int again = open("../marker", O_RDONLY);
  if (again < 0 || !reads_mark(again)) return 16;
  return 0;
}

static int outside(const struct stat* jail, const struct stat* dir) {
  if (chroot("jail") != 0) return 20;
  char c;
  if (write(1023, "r", 1) != 1 || read(1022, &c, 1) != 1) return 21;
  struct stat root, cwd;
  if (stat("/", &root) != 0 || !same(&root, jail)) return 22;
  if (stat(".", &cwd) != 0 || !same(&cwd, dir)) return 23;
  int fd = open("/marker", O_RDONLY);
  if (fd < 0 || !reads_mark(fd)) return 24;
  int rel = open("jail/marker", O_RDONLY);  // relative to the cwd outside
  if (rel < 0 || !reads_mark(rel)) return 25;
  return 0;
}

int main(int argc, char** argv) {
  prog_init(argc, argv);
  PROG_CHECK(mkdir("jail", 0755) == 0 && mkdir("jail/inner", 0755) == 0, "mkdir");
  int m = open("jail/marker", O_WRONLY | O_CREAT, 0644);
  PROG_CHECK(m >= 0 && write(m, MARK, strlen(MARK)) == (ssize_t)strlen(MARK) && close(m) == 0, "marker");
  struct stat jail, inner, dir;
  PROG_CHECK(stat("jail", &jail) == 0 && stat("jail/inner", &inner) == 0 && stat(".", &dir) == 0, "stat");
  pid_t kids[2];
  int go[2][2], ready[2][2];
  for (int i = 0; i < 2; i++) {
    PROG_CHECK(pipe(go[i]) == 0 && pipe(ready[i]) == 0, "pipe");
    kids[i] = fork();
    PROG_CHECK(kids[i] >= 0, "fork");
    if (kids[i] == 0) {
      dup2(ready[i][1], 1023);
      dup2(go[i][0], 1022);
      _exit(i == 0 ? inside(&jail, &inner) : outside(&jail, &dir));
    }
    close(go[i][0]);
    close(ready[i][1]);
    char c;
    PROG_CHECK(read(ready[i][0], &c, 1) == 1, "child %d not ready", i);
  }
  prog_ready();
  prog_wait_go();
  for (int i = 0; i < 2; i++) PROG_CHECK(write(go[i][1], "g", 1) == 1, "go %d", i);
  for (int i = 0; i < 2; i++) {
    int status;
    PROG_CHECK(waitpid(kids[i], &status, 0) == kids[i], "wait %d", i);
    PROG_CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0, "child %d: check %d failed (status %#x)", i,
               WEXITSTATUS(status), status);
  }
  prog_pass();
}
