// x86-64 register state of a stopped thread: general registers and the full
// xsave area (x87, SSE, AVX and whatever else XCR0 enables), and their
// image form (core_x86.proto).
#pragma once

#include <sys/types.h>
#include <sys/user.h>

#include <cstdint>
#include <string>

#include "engine/base/result.h"
#include "engine/image/proto/core_x86.pb.h"

namespace cryo::x86 {

using Regs = user_regs_struct;

// The raw xsave buffer as PTRACE_GETREGSET NT_X86_XSTATE returns it; its
// first 512 bytes are the fxsave layout.
struct XSave {
  std::string bytes;
};

Result<Regs> GetRegs(pid_t tid);
Result<> SetRegs(pid_t tid, const Regs& r);
Result<XSave> GetXSave(pid_t tid);
Result<> SetXSave(pid_t tid, const XSave& x);

void RegsToImage(const Regs& r, img::user_x86_regs_entry* out);
Regs RegsFromImage(const img::user_x86_regs_entry& in);
// fxsave part and every user xsave component the CPU has (AVX upper
// halves, MPX, AVX-512 opmask/ZMM, PKRU), in CRIU's fields.
void XSaveToImage(const XSave& x, img::user_x86_fpregs_entry* out);
// Writes the image's state over `x` (a buffer read from the thread that is
// being restored, so its size and layout match this CPU). A component in
// use in the image that this CPU lacks is an error.
Result<> XSaveFromImage(const img::user_x86_fpregs_entry& in, XSave* x);

// The syscall instruction a remote syscall executes; the breakpoint after
// it stops a task that would run on by mistake.
inline constexpr unsigned char kSyscallInsn[] = {0x0f, 0x05, 0xcc};

// Syscall restart: values a syscall interrupted by a stop leaves in rax.
inline constexpr long kERestartSys = 512;
inline constexpr long kERestartNoIntr = 513;
inline constexpr long kERestartNoHand = 514;
inline constexpr long kERestartRestartBlock = 516;

// Turns the registers of a thread stopped inside an interrupted syscall
// into registers that re-issue the syscall when the thread runs again (as
// the kernel does on a signal without handler).
void PrepareSyscallRestart(Regs& r);

}  // namespace cryo::x86
