#include "arch/x86_64/regs.h"

#include <cpuid.h>
#include <elf.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <sys/uio.h>

#include <cstring>

namespace cryo::x86 {
namespace {

// xsave layout (Intel SDM vol. 1, 13.4): legacy area 0..511, header at
// 512 (xstate_bv first), AVX upper halves at 576.
constexpr size_t kXsaveHeader = 512;
constexpr size_t kYmmhOffset = 576;
constexpr size_t kYmmhSize = 256;
constexpr size_t kMaxXsave = 64 * 1024;

// The xsave components past AVX that user space owns, each with its size
// in the standard (non-compacted) layout PTRACE_GETREGSET gives.
enum Feature : int { kBndRegs = 3, kBndCsr = 4, kOpmask = 5, kZmmHi256 = 6, kHi16Zmm = 7, kPkru = 9 };
struct Component {
  Feature feature;
  size_t bytes;
};
constexpr Component kComponents[] = {
    {kBndRegs, 64}, {kBndCsr, 64}, {kOpmask, 64}, {kZmmHi256, 512}, {kHi16Zmm, 1024}, {kPkru, 8},
};

// Where component `f` sits in an xsave buffer of `size` bytes, 0 when this
// CPU lacks it (CPUID leaf 0xD: sub-leaf 0 lists the features, sub-leaf f
// gives size and offset).
size_t ComponentOffset(Feature f, size_t bytes, size_t size) {
  unsigned a, b, c, d;
  if (!__get_cpuid_count(0xd, 0, &a, &b, &c, &d)) return 0;
  uint64_t supported = (uint64_t{d} << 32) | a;
  if (!(supported & (1ULL << f))) return 0;
  if (!__get_cpuid_count(0xd, static_cast<unsigned>(f), &a, &b, &c, &d)) return 0;
  if (a != bytes || b < kYmmhOffset || b + bytes > size) return 0;
  return b;
}

template <typename T>
void CopyOut(const XSave& x, size_t at, size_t bytes, google::protobuf::RepeatedField<T>* out) {
  for (size_t i = 0; i < bytes / sizeof(T); i++) {
    T w;
    std::memcpy(&w, x.bytes.data() + at + i * sizeof w, sizeof w);
    out->Add(w);
  }
}

template <typename T>
Result<> CopyIn(const google::protobuf::RepeatedField<T>& in, size_t at, size_t bytes, XSave* x, Feature f) {
  if (in.empty()) return {};
  if (static_cast<size_t>(in.size()) * sizeof(T) != bytes)
    return MakeError(EINVAL, "xsave component {} in image: {} words, want {}", static_cast<int>(f), in.size(),
                     bytes / sizeof(T));
  std::memcpy(x->bytes.data() + at, in.data(), bytes);
  return {};
}

void ComponentToImage(const XSave& x, Feature f, size_t at, size_t bytes, img::user_x86_xsave_entry* xs) {
  switch (f) {
    case kBndRegs: return CopyOut(x, at, bytes, xs->mutable_bndreg_state());
    case kBndCsr: return CopyOut(x, at, bytes, xs->mutable_bndcsr_state());
    case kOpmask: return CopyOut(x, at, bytes, xs->mutable_opmask_reg());
    case kZmmHi256: return CopyOut(x, at, bytes, xs->mutable_zmm_upper());
    case kHi16Zmm: return CopyOut(x, at, bytes, xs->mutable_hi16_zmm());
    case kPkru: return CopyOut(x, at, bytes, xs->mutable_pkru());
  }
}

Result<> ComponentFromImage(const img::user_x86_xsave_entry& xs, Feature f, size_t at, size_t bytes, XSave* x) {
  switch (f) {
    case kBndRegs: return CopyIn(xs.bndreg_state(), at, bytes, x, f);
    case kBndCsr: return CopyIn(xs.bndcsr_state(), at, bytes, x, f);
    case kOpmask: return CopyIn(xs.opmask_reg(), at, bytes, x, f);
    case kZmmHi256: return CopyIn(xs.zmm_upper(), at, bytes, x, f);
    case kHi16Zmm: return CopyIn(xs.hi16_zmm(), at, bytes, x, f);
    case kPkru: return CopyIn(xs.pkru(), at, bytes, x, f);
  }
  return {};
}

}  // namespace

Result<Regs> GetRegs(pid_t tid) {
  Regs r;
  if (ptrace(PTRACE_GETREGS, tid, nullptr, &r) != 0) return ErrnoError("PTRACE_GETREGS {}", tid);
  return r;
}

Result<> SetRegs(pid_t tid, const Regs& r) {
  if (ptrace(PTRACE_SETREGS, tid, nullptr, &r) != 0) return ErrnoError("PTRACE_SETREGS {}", tid);
  return {};
}

Result<XSave> GetXSave(pid_t tid) {
  XSave x;
  x.bytes.resize(kMaxXsave);
  iovec iov{x.bytes.data(), x.bytes.size()};
  if (ptrace(PTRACE_GETREGSET, tid, NT_X86_XSTATE, &iov) != 0)
    return ErrnoError("PTRACE_GETREGSET NT_X86_XSTATE {}", tid);
  x.bytes.resize(iov.iov_len);
  return x;
}

Result<> SetXSave(pid_t tid, const XSave& x) {
  std::string copy = x.bytes;
  iovec iov{copy.data(), copy.size()};
  if (ptrace(PTRACE_SETREGSET, tid, NT_X86_XSTATE, &iov) != 0)
    return ErrnoError("PTRACE_SETREGSET NT_X86_XSTATE {}", tid);
  return {};
}

void RegsToImage(const Regs& r, img::user_x86_regs_entry* o) {
  o->set_r15(r.r15);
  o->set_r14(r.r14);
  o->set_r13(r.r13);
  o->set_r12(r.r12);
  o->set_bp(r.rbp);
  o->set_bx(r.rbx);
  o->set_r11(r.r11);
  o->set_r10(r.r10);
  o->set_r9(r.r9);
  o->set_r8(r.r8);
  o->set_ax(r.rax);
  o->set_cx(r.rcx);
  o->set_dx(r.rdx);
  o->set_si(r.rsi);
  o->set_di(r.rdi);
  o->set_orig_ax(r.orig_rax);
  o->set_ip(r.rip);
  o->set_cs(r.cs);
  o->set_flags(r.eflags);
  o->set_sp(r.rsp);
  o->set_ss(r.ss);
  o->set_fs_base(r.fs_base);
  o->set_gs_base(r.gs_base);
  o->set_ds(r.ds);
  o->set_es(r.es);
  o->set_fs(r.fs);
  o->set_gs(r.gs);
  o->set_mode(img::NATIVE);
}

Regs RegsFromImage(const img::user_x86_regs_entry& i) {
  Regs r{};
  r.r15 = i.r15();
  r.r14 = i.r14();
  r.r13 = i.r13();
  r.r12 = i.r12();
  r.rbp = i.bp();
  r.rbx = i.bx();
  r.r11 = i.r11();
  r.r10 = i.r10();
  r.r9 = i.r9();
  r.r8 = i.r8();
  r.rax = i.ax();
  r.rcx = i.cx();
  r.rdx = i.dx();
  r.rsi = i.si();
  r.rdi = i.di();
  r.orig_rax = i.orig_ax();
  r.rip = i.ip();
  r.cs = i.cs();
  r.eflags = i.flags();
  r.rsp = i.sp();
  r.ss = i.ss();
  r.fs_base = i.fs_base();
  r.gs_base = i.gs_base();
  r.ds = i.ds();
  r.es = i.es();
  r.fs = i.fs();
  r.gs = i.gs();
  return r;
}

void XSaveToImage(const XSave& x, img::user_x86_fpregs_entry* o) {
  user_fpregs_struct fx{};
  std::memcpy(&fx, x.bytes.data(), std::min(sizeof fx, x.bytes.size()));
  o->set_cwd(fx.cwd);
  o->set_swd(fx.swd);
  o->set_twd(fx.ftw);
  o->set_fop(fx.fop);
  o->set_rip(fx.rip);
  o->set_rdp(fx.rdp);
  o->set_mxcsr(fx.mxcsr);
  o->set_mxcsr_mask(fx.mxcr_mask);
  for (unsigned v : fx.st_space) o->add_st_space(v);
  for (unsigned v : fx.xmm_space) o->add_xmm_space(v);
  for (unsigned v : fx.padding) o->add_padding(v);
  if (x.bytes.size() >= kYmmhOffset + kYmmhSize) {
    auto* xs = o->mutable_xsave();
    uint64_t bv;
    std::memcpy(&bv, x.bytes.data() + kXsaveHeader, sizeof bv);
    xs->set_xstate_bv(bv);
    for (size_t i = 0; i < kYmmhSize / 4; i++) {
      uint32_t w;
      std::memcpy(&w, x.bytes.data() + kYmmhOffset + 4 * i, 4);
      xs->add_ymmh_space(w);
    }
    for (const Component& c : kComponents)
      if (size_t at = ComponentOffset(c.feature, c.bytes, x.bytes.size())) ComponentToImage(x, c.feature, at, c.bytes, xs);
  }
}

Result<> XSaveFromImage(const img::user_x86_fpregs_entry& in, XSave* x) {
  if (x->bytes.size() < sizeof(user_fpregs_struct))
    return MakeError(EINVAL, "xsave area of {} bytes is too small", x->bytes.size());
  if (in.st_space_size() != 32 || in.xmm_space_size() != 64)
    return MakeError(EINVAL, "fpregs in image: {} st words, {} xmm words (want 32, 64)",
                     in.st_space_size(), in.xmm_space_size());
  user_fpregs_struct fx{};
  std::memcpy(&fx, x->bytes.data(), sizeof fx);
  fx.cwd = static_cast<unsigned short>(in.cwd());
  fx.swd = static_cast<unsigned short>(in.swd());
  fx.ftw = static_cast<unsigned short>(in.twd());
  fx.fop = static_cast<unsigned short>(in.fop());
  fx.rip = in.rip();
  fx.rdp = in.rdp();
  fx.mxcsr = in.mxcsr();
  fx.mxcr_mask = in.mxcsr_mask();
  for (int i = 0; i < 32; i++) fx.st_space[i] = in.st_space(i);
  for (int i = 0; i < 64; i++) fx.xmm_space[i] = in.xmm_space(i);
  std::memcpy(x->bytes.data(), &fx, sizeof fx);
  if (in.has_xsave() && x->bytes.size() >= kYmmhOffset + kYmmhSize) {
    const auto& xs = in.xsave();
    uint64_t bv = xs.xstate_bv();
    std::memcpy(x->bytes.data() + kXsaveHeader, &bv, sizeof bv);
    if (xs.ymmh_space_size() == static_cast<int>(kYmmhSize / 4)) {
      for (size_t i = 0; i < kYmmhSize / 4; i++) {
        uint32_t w = xs.ymmh_space(static_cast<int>(i));
        std::memcpy(x->bytes.data() + kYmmhOffset + 4 * i, &w, 4);
      }
    }
    // A component this CPU lacks cannot be given back: refused rather
    // than dropped while xstate_bv says it is in use.
    for (const Component& c : kComponents) {
      size_t at = ComponentOffset(c.feature, c.bytes, x->bytes.size());
      if (at) {
        CRYO_TRY(ComponentFromImage(xs, c.feature, at, c.bytes, x));
      } else if (bv & (1ULL << c.feature)) {
        return MakeError(ENOTSUP, "xsave component {} is in use in the image but this CPU has none",
                         static_cast<int>(c.feature));
      }
    }
  }
  return {};
}

void PrepareSyscallRestart(Regs& r) {
  if (static_cast<long>(r.orig_rax) < 0) return;
  long ret = -static_cast<long>(r.rax);
  switch (ret) {
    case kERestartSys:
    case kERestartNoIntr:
    case kERestartNoHand:
      r.rax = r.orig_rax;
      r.rip -= 2;
      break;
    case kERestartRestartBlock:
      // The kernel's restart block (e.g. nanosleep's remaining time) does
      // not survive; restart_syscall then reports EINTR, which callers of
      // sleeps handle (CRIU behaves the same).
      r.rax = SYS_restart_syscall;
      r.rip -= 2;
      break;
    default:
      break;
  }
}

}  // namespace cryo::x86
