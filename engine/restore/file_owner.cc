#include "engine/restore/file_owner.h"

#include <fcntl.h>
#include <unistd.h>

#include <set>

#include "engine/image/file_parts.h"
#include "engine/proc/proc.h"

namespace cryo {

std::optional<img::fown_entry> EntryOwner(const img::file_entry& e) {
  std::optional<img::fown_entry> out;
  ForPartsWith(e, "fown", [&](const google::protobuf::Message& part, const google::protobuf::FieldDescriptor* fown) {
    if (fown->message_type() != img::fown_entry::descriptor() || !part.GetReflection()->HasField(part, fown))
      return false;
    const auto& f = static_cast<const img::fown_entry&>(part.GetReflection()->GetMessage(part, fown));
    if (f.pid() == 0 && f.signum() == 0) return false;
    out = f;
    return true;
  });
  return out;
}

std::optional<uint32_t> EntryAsyncFlags(const img::file_entry& e) {
  std::optional<uint32_t> out;
  ForPartsWith(e, "flags", [&](const google::protobuf::Message& part, const google::protobuf::FieldDescriptor* flags) {
    if (flags->cpp_type() != google::protobuf::FieldDescriptor::CPPTYPE_UINT32) return false;
    uint32_t v = part.GetReflection()->GetUInt32(part, flags);
    if (!(v & O_ASYNC)) return false;
    out = v;
    return true;
  });
  return out;
}

Result<> SetFileOwner(int fd, const img::fown_entry& f, pid_t host) {
  if (f.signum() != 0 && ::fcntl(fd, F_SETSIG, static_cast<int>(f.signum())) != 0)
    return ErrnoError("F_SETSIG {}", f.signum());
  if (host == 0) return {};
  uid_t ruid, euid, suid;
  if (::getresuid(&ruid, &euid, &suid) != 0) return ErrnoError("getresuid");
  bool as_them = ruid != f.uid() || euid != f.euid();
  if (as_them && ::setresuid(f.uid(), f.euid(), -1) != 0) return ErrnoError("take uids {}/{}", f.uid(), f.euid());
  f_owner_ex owner{};
  owner.type = static_cast<__pid_type>(f.pid_type());
  owner.pid = host;
  int r = ::fcntl(fd, F_SETOWN_EX, &owner);
  int err = errno;
  if (as_them && ::setresuid(ruid, euid, suid) != 0) return ErrnoError("give back uids {}/{}", ruid, euid);
  if (r != 0) {
    errno = err;
    return ErrnoError("F_SETOWN_EX type {} pid {}", f.pid_type(), host);
  }
  return {};
}

namespace {

// The owner's pid as cryo sees it: a task or thread of the tree, or (a
// group) the group of one of its tasks; 0 if none.
pid_t HostOwner(const ImageSet& s, const RestoredTree& tree, const img::fown_entry& f) {
  pid_t dumped = static_cast<pid_t>(f.pid());
  if (dumped == 0) return 0;
  if (f.pid_type() != F_OWNER_PGRP) return tree.HostOf(s, dumped);
  for (size_t i = 0; i < s.tasks.size(); i++) {
    if (s.tasks[i].zombie || static_cast<pid_t>(s.tasks[i].task.pgid()) != dumped) continue;
    pid_t g = ::getpgid(tree.host(i));
    if (g > 0) return g;
  }
  return 0;
}

}  // namespace

Result<> RestoreOwners(const ImageSet& s, const RestoredTree& tree, Log& log) {
  if (s.owners.empty()) return {};
  std::set<uint32_t> done;
  for (size_t i = 0; i < s.tasks.size(); i++) {
    const TaskImages& t = s.tasks[i];
    if (t.zombie) continue;
    UniqueFd pidfd;
    for (const auto& fi : t.fds) {
      auto o = s.owners.find(fi.id());
      if (o == s.owners.end() || !done.insert(fi.id()).second) continue;
      pid_t host = HostOwner(s, tree, o->second);
      if (o->second.pid() != 0 && host == 0)
        log.Warn("file {}: its SIGIO owner {} is no task of the tree: not set", fi.id(), o->second.pid());
      if (!pidfd) pidfd = CRYO_TRY(OpenPidfd(tree.host(i)));
      UniqueFd ours = CRYO_TRY(TakeFdFrom(pidfd.get(), t.pid(), fi.fd()));
      CRYO_TRY_CTX(SetFileOwner(ours.get(), o->second, host), "owner of pid {} fd {}", t.pid(), fi.fd());
    }
  }
  return {};
}

}  // namespace cryo
