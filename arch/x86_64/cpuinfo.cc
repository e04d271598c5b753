#include "arch/x86_64/cpuinfo.h"

#include <cpuid.h>

#include <array>
#include <cstring>

#include <fmt/format.h>

#include "engine/image/image_reader.h"
#include "engine/image/image_writer.h"

namespace cryo::arch {
namespace {

struct Regs {
  uint32_t a = 0, b = 0, c = 0, d = 0;
};

Regs Cpuid(uint32_t leaf, uint32_t sub = 0) {
  Regs r;
  __cpuid_count(leaf, sub, r.a, r.b, r.c, r.d);
  return r;
}

enum Reg { kEax, kEbx, kEcx, kEdx };

// CRIU's word order (capability_ver 2): which cpuid leaf and register
// each word is. Leaf 0 marks Linux's synthesized words, left 0.
struct Word {
  uint32_t leaf, sub;
  Reg reg;
};
constexpr std::array<Word, kCpuCapabilityWords> kWords = {{
    {0x1, 0, kEdx},         {0x80000001, 0, kEdx}, {0x80860001, 0, kEdx}, {0, 0, kEax},
    {0x1, 0, kEcx},         {0xC0000001, 0, kEdx}, {0x80000001, 0, kEcx}, {0, 0, kEax},
    {0, 0, kEax},           {0x7, 0, kEbx},        {0xD, 1, kEax},        {0x7, 0, kEcx},
    {0xF, 1, kEdx},         {0x80000008, 0, kEbx}, {0x6, 0, kEax},        {0x8000000A, 0, kEdx},
    {0xF, 0, kEdx},         {0x80000007, 0, kEbx}, {0x7, 0, kEdx},
}};

// The bits a program can depend on. Not Linux's synthesized words (3, 7,
// 8: CRIU fills some of them, cryo does not), nor what only the kernel
// sees (monitoring, power, virtualization, RAS: 12, 14 to 17), nor the
// "running on a hypervisor" bit (4:31), which a move off a VM changes.
constexpr std::array<uint32_t, kCpuCapabilityWords> kCompared = {{
    ~0u, ~0u, ~0u, 0, ~0u & ~(1u << 31), ~0u, ~0u, 0, 0, ~0u, ~0u, ~0u, 0, ~0u, 0, 0, 0, 0, ~0u,
}};

std::string WordName(int i) {
  const Word& w = kWords[static_cast<size_t>(i)];
  if (w.leaf == 0) return fmt::format("word {}", i);
  static constexpr const char* kReg[] = {"eax", "ebx", "ecx", "edx"};
  return fmt::format("word {} (cpuid {:#x}.{} {})", i, w.leaf, w.sub, kReg[w.reg]);
}

// A leaf past its range's highest one reads as something else (Intel
// gives the highest basic leaf): only leaves in range are asked.
bool InRange(uint32_t leaf) {
  uint32_t base = leaf & 0xffff0000u;
  uint32_t max = Cpuid(base).a;
  if (base != 0 && (max & 0xffff0000u) != base) return false;
  return leaf <= max;
}

uint64_t EnabledXfeatures() {
  uint32_t a, b, c, d;
  if (!__get_cpuid(1, &a, &b, &c, &d) || !(c & bit_OSXSAVE)) return 0;
  uint32_t lo, hi;
  asm volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
  return (static_cast<uint64_t>(hi) << 32) | lo;
}

}  // namespace

img::cpuinfo_x86_entry ProbeCpu() {
  img::cpuinfo_x86_entry e;
  Regs v = Cpuid(0);
  char vendor[13] = {};
  std::memcpy(vendor, &v.b, 4);
  std::memcpy(vendor + 4, &v.d, 4);
  std::memcpy(vendor + 8, &v.c, 4);
  e.set_vendor_id(std::strcmp(vendor, "GenuineIntel") == 0   ? img::cpuinfo_x86_entry::INTEL
                  : std::strcmp(vendor, "AuthenticAMD") == 0 ? img::cpuinfo_x86_entry::AMD
                                                             : img::cpuinfo_x86_entry::UNKNOWN);
  Regs one = Cpuid(1);
  uint32_t family = (one.a >> 8) & 0xf, model = (one.a >> 4) & 0xf;
  if (family == 0xf) family += (one.a >> 20) & 0xff;
  if (family >= 6) model += ((one.a >> 16) & 0xf) << 4;
  e.set_cpu_family(family);
  e.set_model(model);
  e.set_stepping(one.a & 0xf);
  e.set_capability_ver(kCpuCapabilityVersion);
  for (const Word& w : kWords) {
    uint32_t bits = 0;
    if (w.leaf != 0 && InRange(w.leaf)) {
      Regs r = Cpuid(w.leaf, w.sub);
      bits = w.reg == kEax ? r.a : w.reg == kEbx ? r.b : w.reg == kEcx ? r.c : r.d;
    }
    e.add_capability(bits);
  }
  if (InRange(0x80000004)) {
    char brand[49] = {};
    for (uint32_t i = 0; i < 3; i++) {
      Regs r = Cpuid(0x80000002 + i);
      std::memcpy(brand + 16 * i, &r, 16);
    }
    std::string id(brand);
    while (!id.empty() && id.back() == ' ') id.pop_back();
    e.set_model_id(id.substr(id.find_first_not_of(' ') == std::string::npos ? id.size() : id.find_first_not_of(' ')));
  }
  if (uint64_t x = EnabledXfeatures(); x != 0 && InRange(0xD)) {
    Regs d = Cpuid(0xD, 0);
    e.set_xfeatures_mask(x);
    e.set_xsave_size(d.b);
    e.set_xsave_size_max(d.c);
  }
  return e;
}

std::vector<std::string> CpuMismatches(const img::cpuinfo_x86_entry& image, const img::cpuinfo_x86_entry& here) {
  std::vector<std::string> out;
  int words = std::min({image.capability_size(), here.capability_size(), kCpuCapabilityWords});
  for (int i = 0; i < words; i++)
    if (uint32_t missing = image.capability(i) & ~here.capability(i) & kCompared[i]; missing != 0)
      out.push_back(fmt::format("{}: bits {:#010x}", WordName(i), missing));
  if (uint64_t missing = image.xfeatures_mask() & ~here.xfeatures_mask(); missing != 0)
    out.push_back(fmt::format("xsave features {:#x}", missing));
  if (image.xsave_size() > here.xsave_size_max())
    out.push_back(fmt::format("an xsave area of {} bytes (this CPU's holds {})", image.xsave_size(),
                              here.xsave_size_max()));
  return out;
}

Result<> DumpCpuinfo(int dir) {
  img::cpuinfo_entry e;
  *e.add_x86_entry() = ProbeCpu();
  return WriteSingleEntryImage(dir, ImageKind::kCpuinfo, 0, e);
}

Result<> CheckCpuinfo(int dir) {
  img::cpuinfo_entry e;
  CRYO_TRY(ReadSingleEntryImage(dir, ImageKind::kCpuinfo, 0, e));
  if (e.x86_entry_size() != 1) return MakeError(EINVAL, "cpuinfo.img: {} x86 CPUs, not one", e.x86_entry_size());
  const auto& image = e.x86_entry(0);
  if (image.capability_ver() != 1 && image.capability_ver() != kCpuCapabilityVersion)
    return MakeError(EINVAL, "cpuinfo.img: capability version {} is unknown", image.capability_ver());
  std::vector<std::string> missing = CpuMismatches(image, ProbeCpu());
  if (missing.empty()) return {};
  std::string all;
  for (const auto& m : missing) all += (all.empty() ? "" : "; ") + m;
  return MakeError(ENOTSUP, "the dumped CPU ({}) has what this one lacks: {}", image.model_id(), all);
}

}  // namespace cryo::arch
