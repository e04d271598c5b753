// CRIU's page server protocol (page-xfer.c), both ends. Each message is
// a page_server_iov; PS_IOV_ADD_F carries the pagemap entry flags in its
// command's upper 16 bits and, for PE_PRESENT, is followed by the pages.
// dst_id names the pagemap: id << 8 | type (1: task, 2: shared memory).
// PS_IOV_OPEN2 is answered with one byte (does a parent exist), PS_IOV_PARENT
// with an int32, PS_IOV_CLOSE and PS_IOV_FORCE_CLOSE with an int32 status,
// after which the server is done.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <functional>
#include <string>

#include "engine/base/log.h"
#include "engine/base/result.h"
#include "engine/base/unique_fd.h"

namespace cryo::ps {

struct Iov {
  uint32_t cmd;
  uint32_t nr_pages;
  uint64_t vaddr;
  uint64_t dst_id;
};
static_assert(sizeof(Iov) == 24);

enum : uint32_t {
  kAdd = 1,
  kHole = 2,
  kOpen = 3,
  kOpen2 = 4,
  kParent = 5,
  kAddF = 6,
  kGet = 7,
  kClose = 0x1023,
  kForceClose = 0x1024,
};
inline constexpr uint32_t kCmdBits = 16;
inline constexpr uint32_t kTypeTask = 1, kTypeShmem = 2;
inline constexpr uint64_t DstId(uint32_t type, uint64_t id) { return id << 8 | type; }

// Serves one connected dumper into the images dir `dir` until it closes.
// Images are written as the dump would have written them locally.
Result<> Serve(int sock, int dir, Log& log);

// A lazy dump's page server: answers the lazy-pages daemon's PS_IOV_GET
// requests (id: the task as the images name it) with `read` until it
// closes (PS_IOV_CLOSE), after which every page has been taken. Returns the
// pages served.
using ReadTaskPages = std::function<Result<>(uint32_t pid, uint64_t vaddr, uint64_t pages, char* dst)>;
Result<uint64_t> ServeLazy(int listen_fd, const ReadTaskPages& read, Log& log);

// A listening TCP socket on address:port (any address when empty; port 0:
// one the kernel picks), and the port it got.
struct Listener {
  UniqueFd fd;
  int port = 0;
};
Result<Listener> Listen(const std::string& address, int port);

// Takes the first dumper that connects, then serves it.
Result<> ServeOne(int listen_fd, int dir, Log& log);

// Forks the page server off: the child is in a session of its own with
// stdio on /dev/null and only the listener, `dir` and the log open, and serves
// (ServeOne) and exits; the parent gets the child's pid.
Result<pid_t> StartDetached(Listener& l, int dir, Log& log);

}  // namespace cryo::ps
