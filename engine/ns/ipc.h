// An IPC namespace: its sysctls (ipcns-var-N.img): SysV limits, POSIX
// message queue limits, the next ids. Its SysV objects are sysv.h's.
#pragma once

#include <sys/types.h>

#include "engine/base/result.h"
#include "engine/base/unique_fd.h"
#include "engine/image/proto/namespaces.pb.h"

namespace cryo::ns {

Result<img::ipc_var_entry> DumpIpcVar(pid_t pid);
// Writes them in the IPC namespace cryo is in.
Result<> ApplyIpcVar(const img::ipc_var_entry& e);

// cryo in another IPC namespace for as long as it lives: its objects are
// visible only from there.
class InIpcNamespace {
 public:
  static Result<InIpcNamespace> Join(pid_t pid);
  InIpcNamespace(InIpcNamespace&&) noexcept = default;
  ~InIpcNamespace();

 private:
  InIpcNamespace() = default;
  UniqueFd own_;
};

}  // namespace cryo::ns
