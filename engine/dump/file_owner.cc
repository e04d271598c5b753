#include "engine/dump/file_owner.h"

#include <fcntl.h>

#include "engine/image/file_parts.h"

namespace cryo {

namespace {
constexpr int kGetOwnerUids = 17;  // F_GETOWNER_UIDS (CONFIG_CHECKPOINT_RESTORE)
}  // namespace

Result<img::fown_entry> ReadFileOwner(int fd) {
  img::fown_entry f;
  f.set_uid(0);
  f.set_euid(0);
  f.set_pid_type(0);
  f.set_pid(0);
  int sig = ::fcntl(fd, F_GETSIG);
  if (sig < 0) return ErrnoError("F_GETSIG");
  f.set_signum(static_cast<uint32_t>(sig));
  f_owner_ex owner{};
  if (::fcntl(fd, F_GETOWN_EX, &owner) != 0) return ErrnoError("F_GETOWN_EX");
  if (owner.pid == 0) return f;
  uint32_t uids[2] = {0, 0};
  if (::fcntl(fd, kGetOwnerUids, uids) != 0) return ErrnoError("F_GETOWNER_UIDS");
  f.set_uid(uids[0]);
  f.set_euid(uids[1]);
  f.set_pid_type(static_cast<uint32_t>(owner.type));
  f.set_pid(static_cast<uint32_t>(owner.pid));
  return f;
}

bool SetEntryOwner(img::file_entry& e, const img::fown_entry& f) {
  bool set = false;
  ForPartsWith(e, "fown", [&](google::protobuf::Message& part, const google::protobuf::FieldDescriptor* fown) {
    if (fown->message_type() != img::fown_entry::descriptor()) return false;
    part.GetReflection()->MutableMessage(&part, fown)->CopyFrom(f);
    set = true;
    return false;  // every part that records one
  });
  return set;
}

}  // namespace cryo
