// Machine code that runs a table of syscalls inside a stopped task in one
// go, instead of one ptrace stop per call: rdi = table, rsi = entries. Each
// entry is 8 u64: nr, six arguments, and the result the code stores there.
// It ends on an int3 the tracer waits for.
#pragma once

#include <cstddef>
#include <cstdint>

namespace cryo::x86 {

struct BatchEntry {
  uint64_t nr, a1, a2, a3, a4, a5, a6, ret;
};
static_assert(sizeof(BatchEntry) == 64);

// Assembled from (intel syntax):
//      mov r12, rdi ; mov r13, rsi
//   1: test r13, r13 ; jz 2f
//      mov rax, [r12] ; mov rdi, [r12+8] ; mov rsi, [r12+16] ; mov rdx, [r12+24]
//      mov r10, [r12+32] ; mov r8, [r12+40] ; mov r9, [r12+48]
//      syscall
//      mov [r12+56], rax ; add r12, 64 ; dec r13 ; jmp 1b
//   2: int3
inline constexpr unsigned char kSyscallBatch[] = {
    0x49, 0x89, 0xfc, 0x49, 0x89, 0xf5, 0x4d, 0x85, 0xed, 0x74, 0x32, 0x49, 0x8b, 0x04, 0x24, 0x49,
    0x8b, 0x7c, 0x24, 0x08, 0x49, 0x8b, 0x74, 0x24, 0x10, 0x49, 0x8b, 0x54, 0x24, 0x18, 0x4d, 0x8b,
    0x54, 0x24, 0x20, 0x4d, 0x8b, 0x44, 0x24, 0x28, 0x4d, 0x8b, 0x4c, 0x24, 0x30, 0x0f, 0x05, 0x49,
    0x89, 0x44, 0x24, 0x38, 0x49, 0x83, 0xc4, 0x40, 0x49, 0xff, 0xcd, 0xeb, 0xc9, 0xcc,
};
// Where the int3 leaves rip: just past the code.
inline constexpr size_t kSyscallBatchEnd = sizeof kSyscallBatch;
static_assert(kSyscallBatch[sizeof kSyscallBatch - 1] == 0xcc, "the batch must end on int3");

}  // namespace cryo::x86
