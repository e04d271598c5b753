// The CPU a dump was taken on (cpuinfo.img, `cryo cpuinfo dump|check`,
// RPC CPUINFO_DUMP/CHECK): vendor, family, model, stepping, the feature
// words CRIU keeps (capability_ver 2: 19 words in CRIU's fixed order of
// cpuid leaves; words 3, 7 and 8, Linux's own synthesized bits, stay 0),
// the xsave features the kernel enabled and the xsave area sizes.
//
// A check passes when this CPU can run what the dumped one ran: every
// feature bit a program can rely on that the image has, this CPU has
// (not Linux's synthesized words, the kernel-only ones, or the hypervisor
// bit); every xsave feature the image has, this kernel enabled; the
// image's xsave area fits this CPU's.
#pragma once

#include <string>
#include <vector>

#include "engine/base/result.h"
#include "engine/image/proto/stats.pb.h"

namespace cryo::arch {

inline constexpr uint32_t kCpuCapabilityVersion = 2;
inline constexpr int kCpuCapabilityWords = 19;

img::cpuinfo_x86_entry ProbeCpu();

// What the image's CPU has that `here` lacks, one phrase each (empty: it
// can run here).
std::vector<std::string> CpuMismatches(const img::cpuinfo_x86_entry& image, const img::cpuinfo_x86_entry& here);

// cpuinfo.img in `dir`.
Result<> DumpCpuinfo(int dir);
// Reads cpuinfo.img in `dir` and checks it against this CPU: an error
// naming what is missing when it cannot run here.
Result<> CheckCpuinfo(int dir);

}  // namespace cryo::arch
