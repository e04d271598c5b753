// Copying memory out of a stopped process: process_vm_readv for readable
// memory (one call for many runs), /proc/PID/mem for what the process itself
// cannot read (PROT_NONE, write-only), which the kernel reads with FOLL_FORCE.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <span>

#include "engine/base/result.h"
#include "engine/base/unique_fd.h"
#include "engine/mem/page_scan.h"

namespace cryo {

class RemoteMemory {
 public:
  static Result<RemoteMemory> Open(pid_t pid);

  // Reads the runs back to back into dst (sum of run sizes bytes). `readable`
  // says whether the memory is readable by the process itself; if not, or if
  // process_vm_readv comes up short, /proc/PID/mem is used.
  Result<> ReadRuns(std::span<const PageRun> runs, char* dst, bool readable);
  Result<> Read(uint64_t addr, size_t len, char* dst, bool readable);

 private:
  RemoteMemory(pid_t pid, UniqueFd mem) : pid_(pid), mem_(std::move(mem)) {}
  Result<> ReadViaMem(uint64_t addr, size_t len, char* dst);

  pid_t pid_;
  UniqueFd mem_;
};

}  // namespace cryo
