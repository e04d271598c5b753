// Between a lazy restore and the lazy-pages daemon: the unix stream socket
// lazy-pages.socket in the work dir, which the daemon listens on. The
// restore sends, per process, a kProcess message with the process's
// userfaultfd and a pidfd attached; then kAllHanded (the tree is about to
// run), which the daemon answers with one byte once it holds them all;
// then kRunning once the tree runs. A restore that hangs up before
// kRunning has failed (its tasks are gone): the daemon must not tell the
// dumping side it is done.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <string>

#include "engine/base/result.h"
#include "engine/base/unique_fd.h"

namespace cryo::lazy {

inline constexpr const char* kSocketName = "lazy-pages.socket";
inline constexpr uint32_t kMagic = 0x4c5a5047;  // "LZPG"

enum Kind : uint32_t { kProcess = 1, kAllHanded = 2, kRunning = 3 };

struct Message {
  uint32_t magic = kMagic;
  uint32_t kind = 0;
  int32_t pid = 0;   // kProcess: as the images name it (whose pages)
  int32_t host = 0;  // kProcess: as this host sees it
};

// The daemon's end: listening at DIR/lazy-pages.socket (a stale one is
// replaced).
Result<UniqueFd> Listen(const std::string& dir);
// The restore's end.
Result<UniqueFd> Connect(const std::string& dir);

// A kProcess carries the process's userfaultfd and a pidfd of it.
Result<> Send(int sock, const Message& m, int uffd = -1, int pidfd = -1);
// A message and, for kProcess, its two fds; hung up: kind 0.
Result<Message> Receive(int sock, UniqueFd* uffd, UniqueFd* pidfd);

}  // namespace cryo::lazy
