// Many remote syscalls for one ptrace stop: calls whose arguments are known
// beforehand are queued, then run together inside the task by the batch
// code (arch/x86_64/syscall_batch.h) placed in an executable page of the
// task. Results come back per call, negative values being -errno.
#pragma once

#include <cstdint>
#include <vector>

#include "arch/x86_64/syscall_batch.h"
#include "engine/base/result.h"
#include "parasite/remote.h"

namespace cryo {

class SyscallBatch {
 public:
  // Queues a call; returns its index in the results.
  size_t Add(long nr, uint64_t a1 = 0, uint64_t a2 = 0, uint64_t a3 = 0, uint64_t a4 = 0, uint64_t a5 = 0,
             uint64_t a6 = 0) {
    entries_.push_back({static_cast<uint64_t>(nr), a1, a2, a3, a4, a5, a6, 0});
    return entries_.size() - 1;
  }
  size_t size() const { return entries_.size(); }

  // Runs the queued calls in `t`, with the batch code at `code` (already
  // there) and the table written at `table`, which has room for `room`
  // entries (more calls run in several rounds).
  Result<std::vector<long>> Run(RemoteTask& t, uint64_t code, uint64_t table, size_t room);

 private:
  std::vector<x86::BatchEntry> entries_;
};

}  // namespace cryo
