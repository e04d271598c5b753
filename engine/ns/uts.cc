#include "engine/ns/uts.h"

#include <sched.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <cstring>

#include "engine/ns/probe.h"

namespace cryo::ns {
namespace {

long Probe(char* out, size_t cap, const char*) {
  struct utsname u;
  if (::uname(&u) != 0) return -errno;
  size_t a = ::strlen(u.nodename), b = ::strlen(u.domainname);
  if (a + b + 2 > cap) return -ENOSPC;
  ::memcpy(out, u.nodename, a + 1);
  ::memcpy(out + a + 1, u.domainname, b + 1);
  return static_cast<long>(a + b + 2);
}

}  // namespace

Result<img::utsns_entry> DumpUts(pid_t pid) {
  std::string s = CRYO_TRY_CTX(ReadInside(pid, CLONE_NEWUTS, Probe), "UTS namespace of {}", pid);
  size_t z = s.find('\0');
  if (z == std::string::npos || s.empty() || s.back() != '\0') return MakeError(EIO, "UTS names of {}", pid);
  img::utsns_entry e;
  e.set_nodename(s.substr(0, z));
  e.set_domainname(s.substr(z + 1, s.size() - z - 2));
  return e;
}

Result<> ApplyUts(const img::utsns_entry& e) {
  if (::sethostname(e.nodename().data(), e.nodename().size()) != 0) return ErrnoError("sethostname '{}'", e.nodename());
  if (::setdomainname(e.domainname().data(), e.domainname().size()) != 0)
    return ErrnoError("setdomainname '{}'", e.domainname());
  return {};
}

}  // namespace cryo::ns
