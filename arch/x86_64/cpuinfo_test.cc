#include "arch/x86_64/cpuinfo.h"

#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

#include <string>

#include <gtest/gtest.h>

#include "engine/image/image_writer.h"

namespace cryo::arch {
namespace {

TEST(Cpuinfo, ProbeSeesThisCpu) {
  img::cpuinfo_x86_entry e = ProbeCpu();
  EXPECT_EQ(e.capability_ver(), kCpuCapabilityVersion);
  ASSERT_EQ(e.capability_size(), kCpuCapabilityWords);
  EXPECT_TRUE(e.capability(0) & 1) << "no FPU in cpuid 1 edx";
  EXPECT_TRUE(e.capability(1) & (1u << 29)) << "no long mode in cpuid 0x80000001 edx";
  EXPECT_EQ(e.capability(3), 0u);  // Linux's synthesized words
  EXPECT_NE(e.xfeatures_mask() & 3, 0u) << "x87 and SSE state are always enabled with xsave";
  EXPECT_GE(e.xsave_size_max(), e.xsave_size());
  EXPECT_GE(e.xsave_size(), 576u);  // the legacy area and the header
  EXPECT_TRUE(CpuMismatches(e, ProbeCpu()).empty());
}

TEST(Cpuinfo, MissingFeaturesAreNamed) {
  img::cpuinfo_x86_entry here = ProbeCpu();
  img::cpuinfo_x86_entry image = here;
  EXPECT_TRUE(CpuMismatches(image, here).empty());
  // A feature of cpuid 7.0 ebx this CPU lacks (or, if it has them all, take
  // one away from "here").
  uint32_t lacking = ~here.capability(9);
  if (lacking == 0) {
    here.set_capability(9, here.capability(9) & ~1u);
    lacking = 1;
  }
  uint32_t bit = lacking & (~lacking + 1);
  image.set_capability(9, image.capability(9) | bit);
  auto m = CpuMismatches(image, here);
  ASSERT_EQ(m.size(), 1u);
  EXPECT_NE(m[0].find("word 9 (cpuid 0x7.0 ebx)"), std::string::npos) << m[0];
  image = here;
  image.set_xfeatures_mask(here.xfeatures_mask() | (1ull << 62));
  image.set_xsave_size(here.xsave_size_max() + 64);
  m = CpuMismatches(image, here);
  ASSERT_EQ(m.size(), 2u);
  EXPECT_NE(m[0].find("xsave features 0x4000000000000000"), std::string::npos) << m[0];
  EXPECT_NE(m[1].find("xsave area"), std::string::npos) << m[1];
}

TEST(Cpuinfo, DumpThenCheck) {
  char tmpl[] = "/tmp/cryo-cpuinfo-XXXXXX";
  ASSERT_TRUE(mkdtemp(tmpl));
  int dir = open(tmpl, O_RDONLY | O_DIRECTORY);
  EXPECT_FALSE(CheckCpuinfo(dir)) << "no cpuinfo.img yet";
  ASSERT_TRUE(DumpCpuinfo(dir));
  auto ok = CheckCpuinfo(dir);
  EXPECT_TRUE(ok) << ok.error().what();
  std::string crit = std::string("crit decode -i ") + tmpl + "/cpuinfo.img >/dev/null 2>&1";
  EXPECT_EQ(system(crit.c_str()), 0) << "crit cannot decode cpuinfo.img";
  // An image from a CPU with more than this one.
  img::cpuinfo_entry e;
  *e.add_x86_entry() = ProbeCpu();
  e.mutable_x86_entry(0)->set_xfeatures_mask(e.x86_entry(0).xfeatures_mask() | (1ull << 62));
  ASSERT_TRUE(WriteSingleEntryImage(dir, ImageKind::kCpuinfo, 0, e));
  ok = CheckCpuinfo(dir);
  ASSERT_FALSE(ok);
  EXPECT_NE(std::string(ok.error().what()).find("xsave features"), std::string::npos) << ok.error().what();
  close(dir);
  std::string rm = std::string("rm -rf ") + tmpl;
  (void)!system(rm.c_str());
}

}  // namespace
}  // namespace cryo::arch
