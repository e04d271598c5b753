// A process in a UTS namespace of its own, with a host and domain name of
// its own: after restore it is still in a UTS namespace apart from the
// host's, with the same names.
#define _GNU_SOURCE
#include <sched.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "prog.h"

static ino_t ns_of(const char* path) {
  struct stat st;
  return stat(path, &st) == 0 ? st.st_ino : 0;
}

int main(int argc, char** argv) {
  prog_init(argc, argv);
  ino_t host = ns_of("/proc/self/ns/uts");
  PROG_CHECK(unshare(CLONE_NEWUTS) == 0, "unshare(CLONE_NEWUTS)");
  PROG_CHECK(sethostname("cryo-uts-prog", 13) == 0, "sethostname");
  PROG_CHECK(setdomainname("checkpoint.example", 18) == 0, "setdomainname");
  prog_ready();
  prog_wait_go();
  struct utsname u;
  PROG_CHECK(uname(&u) == 0, "uname");
  PROG_CHECK(strcmp(u.nodename, "cryo-uts-prog") == 0, "hostname is '%s'", u.nodename);
  PROG_CHECK(strcmp(u.domainname, "checkpoint.example") == 0, "domainname is '%s'", u.domainname);
  PROG_CHECK(ns_of("/proc/self/ns/uts") != host, "back in the host's UTS namespace");
  prog_pass();
}
