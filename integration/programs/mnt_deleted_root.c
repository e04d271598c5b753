// Binds whose source was removed since: an empty directory of a tmpfs
// bound on another one and a file bound on another file, each source
// then removed (mountinfo shows their roots with "//deleted"). After
// restore both binds are in place with their roots still marked deleted,
// the file (empty: a removed file with contents is refused at dump, its
// contents being in no image) is writable through its bind, the sources
// are still gone (none was left behind by the restore), and each bind
// unmounts.
#define _GNU_SOURCE
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include "mnt.h"
#include "prog.h"

static void check(const char* when) {
  char line[1024];
  PROG_CHECK(mnt_line("/mnt/del/dst", line, sizeof line), "%s: no mount at /mnt/del/dst", when);
  PROG_CHECK(strstr(line, " /src//deleted ") != NULL, "%s: directory bind: %s", when, line);
  PROG_CHECK(mnt_line("/mnt/del/file-dst", line, sizeof line), "%s: no mount at /mnt/del/file-dst", when);
  PROG_CHECK(strstr(line, " /file-src//deleted ") != NULL, "%s: file bind: %s", when, line);
  struct stat st;
  PROG_CHECK(stat("/mnt/del/dst", &st) == 0 && S_ISDIR(st.st_mode), "%s: the directory bind is not a directory", when);
  PROG_CHECK(stat("/mnt/del/file-dst", &st) == 0 && S_ISREG(st.st_mode) && st.st_size == 0, "%s: the file bind", when);
  PROG_CHECK(lstat("/mnt/del/src", &st) != 0 && lstat("/mnt/del/file-src", &st) != 0, "%s: a source is back", when);
}

int main(int argc, char** argv) {
  prog_init(argc, argv);
  mnt_require_container();
  mnt_mkdirs("/mnt/del");
  mnt_mount("cryo-del", "/mnt/del", "tmpfs", 0, "size=1m");
  mnt_mkdirs("/mnt/del/src");
  mnt_mkdirs("/mnt/del/dst");
  mnt_write("/mnt/del/file-src", "");
  mnt_write("/mnt/del/file-dst", "");
  mnt_mount("/mnt/del/src", "/mnt/del/dst", NULL, MS_BIND, NULL);
  mnt_mount("/mnt/del/file-src", "/mnt/del/file-dst", NULL, MS_BIND, NULL);
  PROG_CHECK(rmdir("/mnt/del/src") == 0, "rmdir the bound directory");
  PROG_CHECK(unlink("/mnt/del/file-src") == 0, "unlink the bound file");
  check("before the dump");
  prog_ready();
  prog_wait_go();
  check("after restore");
  char buf[64];
  mnt_write("/mnt/del/file-dst", "written\n");
  mnt_read("/mnt/del/file-dst", buf, sizeof buf);
  PROG_CHECK(strcmp(buf, "written\n") == 0, "through the file bind: '%s'", buf);
  PROG_CHECK(umount2("/mnt/del/dst", 0) == 0, "unmount the directory bind");
  PROG_CHECK(umount2("/mnt/del/file-dst", 0) == 0, "unmount the file bind");
  prog_pass();
}
