// What DESIGN.md says of this machine's kernel, checked against the probe.
#include "engine/kernel/features.h"

#include <dirent.h>

#include <gtest/gtest.h>

namespace cryo {
namespace {

int CountFds() {
  int n = 0;
  DIR* d = opendir("/proc/self/fd");
  while (dirent* e = readdir(d)) n += e->d_name[0] != '.';
  closedir(d);
  return n;
}

const KernelFeatures& Probed() {
  static const KernelFeatures k = ProbeKernelFeatures();
  return k;
}

TEST(KernelFeatures, ThisKernelAsDesignSays) {
  const KernelFeatures& k = Probed();
  EXPECT_TRUE(k.clone3_set_tid);
  EXPECT_TRUE(k.pidfd_open);
  EXPECT_TRUE(k.pidfd_getfd);
  EXPECT_TRUE(k.pagemap_scan);
  EXPECT_TRUE(k.uffd_wp_async);
  EXPECT_FALSE(k.soft_dirty);
  EXPECT_FALSE(k.apparmor);
  EXPECT_TRUE(k.time_ns);
  EXPECT_TRUE(k.seccomp_filter_dump);
  EXPECT_TRUE(k.rseq_config);
  EXPECT_TRUE(k.has_vvar_vclock);
  EXPECT_TRUE(k.cap_checkpoint_restore);
  EXPECT_FALSE(k.cap_sys_resource);
  EXPECT_EQ(k.cgroup2_mount, "/sys/fs/cgroup/unified");
  EXPECT_FALSE(k.cgroup_v1.empty());
  EXPECT_EQ(k.pid_max, 32768u);
  EXPECT_GT(k.xsave_size, 512u);
  EXPECT_TRUE(KernelCheckPasses(k));
}

TEST(KernelFeatures, CriuFeatureNamesAnswerTruthfully) {
  const KernelFeatures& k = Probed();
  EXPECT_EQ(CriuFeature(k, "pagemap_scan"), std::optional<bool>(true));
  // No soft-dirty here, but writes are tracked with PAGEMAP_SCAN + uffd-wp.
  EXPECT_FALSE(k.soft_dirty);
  EXPECT_TRUE(k.MemTrack());
  EXPECT_EQ(CriuFeature(k, "mem_dirty_track"), std::optional<bool>(true));
  EXPECT_EQ(CriuFeature(k, "timens"), std::optional<bool>(true));
  EXPECT_EQ(CriuFeature(k, "apparmor_stacking"), std::optional<bool>(false));
  EXPECT_EQ(CriuFeature(k, "bogus"), std::nullopt);
  for (std::string_view n : CriuFeatureNames()) EXPECT_TRUE(CriuFeature(k, n).has_value()) << n;
}

TEST(KernelFeatures, OutputsNameEveryProbe) {
  const KernelFeatures& k = Probed();
  std::string text = FormatFeatures(k);
  for (const char* row : {"clone3 set_tid", "PAGEMAP_SCAN", "uffd WP_ASYNC", "soft-dirty",
                          "seccomp filter dump", "rseq configuration", "time namespace",
                          "vDSO layout", "cgroups", "AppArmor"})
    EXPECT_NE(text.find(row), std::string::npos) << row;
  EXPECT_NE(text.find("[vvar_vclock]"), std::string::npos);
  auto j = FeaturesToJson(k);
  for (const char* key : {"clone3_set_tid", "pagemap_scan", "uffd_wp_async", "soft_dirty",
                          "seccomp_filter_dump", "rseq_config", "time_ns", "vdso", "cgroup_v1",
                          "cgroup2_mount", "apparmor"})
    EXPECT_TRUE(j.contains(key)) << key;
  EXPECT_EQ(j["soft_dirty"], false);
}

TEST(KernelFeatures, ProbingLeavesNoFdBehind) {
  int before = CountFds();
  (void)ProbeKernelFeatures();
  EXPECT_EQ(CountFds(), before);
}

}  // namespace
}  // namespace cryo
