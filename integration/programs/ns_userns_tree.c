// A tree in a user namespace of its own (0 -> 100000, 65536 ids) with UTS
// and IPC namespaces the user namespace owns: the root and a child (uid
// 1000 inside) in them. After restore both are still there, with their
// names, ids and maps; the namespaces are owned by the user namespace, so
// root inside may still set the host name.
#define _GNU_SOURCE
#include <sys/utsname.h>

#include "prog.h"
#include "userns.h"

static void check_shared(const char* who) {
  struct utsname u;
  PROG_CHECK(uname(&u) == 0 && strcmp(u.nodename, "cryo-userns") == 0, "%s: hostname is '%s'", who, u.nodename);
  PROG_CHECK(userns_owns("uts") && userns_owns("ipc"), "%s: the UTS or IPC namespace is not the user namespace's", who);
  char map[256];
  userns_read("/proc/self/uid_map", map, sizeof map);
  PROG_CHECK(strstr(map, "100000") && strstr(map, "65536"), "%s: uid_map is '%s'", who, map);
}

int main(int argc, char** argv) {
  prog_init(argc, argv);
  userns_enter();
  PROG_CHECK(unshare(CLONE_NEWUTS | CLONE_NEWIPC) == 0, "unshare(UTS|IPC) inside");
  PROG_CHECK(sethostname("cryo-userns", 11) == 0, "sethostname");
  check_shared("root");
  pid_t child = prog_fork_child(0);
  if (child == 0) {
    PROG_CHECK(setresgid(1000, 1000, 1000) == 0 && setresuid(1000, 1000, 1000) == 0, "become 1000 inside");
    prog_child_ready(0);
    prog_wait_go();
    check_shared("child");
    PROG_CHECK(getuid() == 1000 && geteuid() == 1000 && getgid() == 1000, "child: uid %u gid %u", getuid(), getgid());
    PROG_CHECK(sethostname("x", 1) != 0, "child: uid 1000 may set the host name");
    prog_pass();
  }
  prog_wait_children_ready(1);
  prog_ready();
  prog_wait_go();
  check_shared("root");
  PROG_CHECK(getuid() == 0 && geteuid() == 0, "root: uid %u", getuid());
  PROG_CHECK(sethostname("cryo-userns", 11) == 0, "root inside may no longer set the host name");
  prog_check_child(child, 0);
  prog_pass();
}
