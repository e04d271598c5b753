// What this kernel offers checkpoint/restore, probed once at start into a
// value that is passed to whoever needs it (DESIGN.md decision 4). Every
// field comes from really trying the call or reading the kernel's files.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

namespace cryo {

struct SpecialMapping {
  std::string name;  // "[vvar]", "[vvar_vclock]", "[vdso]", "[vsyscall]"
  uint64_t size = 0;
};

struct KernelFeatures {
  std::string release;
  uint64_t page_size = 0;
  uint32_t pid_max = 0;

  bool clone3_set_tid = false;
  bool pidfd_open = false;
  bool pidfd_getfd = false;
  bool pagemap_scan = false;
  bool pagemap_scan_guard = false;  // PAGE_IS_GUARD (MADV_GUARD_INSTALL regions)
  bool uffd = false;
  bool uffd_wp_async = false;
  bool soft_dirty = false;
  // Writes to memory can be tracked between a pre-dump and a dump: cryo
  // tracks them with PAGEMAP_SCAN and an asynchronous write-protecting
  // userfaultfd (mem/uffd_wp.h), not soft-dirty bits.
  bool MemTrack() const { return pagemap_scan && uffd_wp_async; }
  // userfaultfd with the non-cooperative events (fork, mremap, munmap,
  // MADV_DONTNEED) the lazy-pages daemon follows a process by.
  bool uffd_noncoop = false;
  bool LazyPages() const { return uffd && uffd_noncoop; }
  bool seccomp_filter_dump = false;  // PTRACE_SECCOMP_GET_FILTER
  bool rseq_config = false;          // PTRACE_GET_RSEQ_CONFIGURATION
  bool time_ns = false;
  bool user_ns = false;
  bool cgroup_ns = false;
  bool kcmp = false;
  bool memfd_create = false;
  bool openat2 = false;
  bool mount_api = false;  // open_tree / move_mount
  bool map_files = false;  // /proc/PID/map_files readable
  bool ns_last_pid = false;
  bool cap_checkpoint_restore = false;
  bool cap_sys_resource = false;
  bool apparmor = false;
  bool selinux = false;
  bool tun = false;
  uint32_t xsave_size = 0;      // bytes the xsave area needs (cpuid 0xD)
  uint64_t xsave_features = 0;  // XCR0

  std::vector<SpecialMapping> vdso;  // this process's special mappings
  bool has_vvar_vclock = false;

  std::vector<std::string> cgroup_v1;  // mounted v1 hierarchies' controllers
  std::string cgroup2_mount;           // "" when cgroup2 is not mounted
};

KernelFeatures ProbeKernelFeatures();
// Only what MemTrack() and LazyPages() need (no fork): for pre-dump and
// FEATURE_CHECK.
KernelFeatures ProbeMemTrack();
std::string FormatFeatures(const KernelFeatures& k);
nlohmann::json FeaturesToJson(const KernelFeatures& k);
// CRIU's `check --feature NAME` answered from the probe; nullopt for a name
// CRIU does not know.
std::optional<bool> CriuFeature(const KernelFeatures& k, std::string_view name);
// The names CriuFeature knows, in CRIU's order.
const std::vector<std::string_view>& CriuFeatureNames();
// Whether a basic dump and restore can work here.
bool KernelCheckPasses(const KernelFeatures& k);

}  // namespace cryo
