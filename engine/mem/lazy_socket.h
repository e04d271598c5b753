// Between a lazy restore and the lazy-pages daemon: the unix stream socket
// lazy-pages.socket in the work dir, which the daemon listens on. The
// restore sends, per process, a Handover with the process's userfaultfd
// attached, then one with pid 0 (all sent; the tree is about to run),
// which the daemon answers with one byte once it holds them all. A restore
// that hangs up before pid 0 has failed (its tasks are gone).
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <string>

#include "engine/base/result.h"
#include "engine/base/unique_fd.h"

namespace cryo::lazy {

inline constexpr const char* kSocketName = "lazy-pages.socket";
inline constexpr uint32_t kMagic = 0x4c5a5047;  // "LZPG"

struct Handover {
  uint32_t magic = kMagic;
  int32_t pid = 0;   // as the images name it: whose pages
  int32_t host = 0;  // as this host sees it: whom to kill if the pages cannot come
};

// The daemon's end: listening at DIR/lazy-pages.socket (a stale one is
// replaced).
Result<UniqueFd> Listen(const std::string& dir);
// The restore's end.
Result<UniqueFd> Connect(const std::string& dir);

Result<> Send(int sock, const Handover& h, int uffd);
// A handover and its userfaultfd (none with pid 0); hung up: pid -1.
Result<Handover> Receive(int sock, UniqueFd* uffd);

}  // namespace cryo::lazy
