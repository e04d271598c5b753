#include "parasite/batch.h"

#include <algorithm>

namespace cryo {

Result<std::vector<long>> SyscallBatch::Run(RemoteTask& t, uint64_t code, uint64_t table, size_t room) {
  std::vector<long> out;
  out.reserve(entries_.size());
  if (room == 0) return MakeError(E2BIG, "no room for a syscall batch");
  for (size_t at = 0; at < entries_.size(); at += room) {
    size_t n = std::min(room, entries_.size() - at);
    CRYO_TRY(t.Write(table, entries_.data() + at, n * sizeof(x86::BatchEntry)));
    CRYO_TRY(t.RunCode(code, code + x86::kSyscallBatchEnd, table, n));
    std::vector<x86::BatchEntry> done(n);
    CRYO_TRY(t.Read(table, done.data(), n * sizeof(x86::BatchEntry)));
    for (const auto& e : done) out.push_back(static_cast<long>(e.ret));
  }
  return out;
}

}  // namespace cryo
