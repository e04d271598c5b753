#include "engine/kernel/features.h"

#include <cpuid.h>
#include <fcntl.h>
#include <linux/sched.h>
#include <linux/userfaultfd.h>
#include <sched.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <sstream>

#include <fmt/format.h>

#include "engine/base/files.h"
#include "engine/kernel/probe_child.h"
#include "engine/base/linux_compat.h"


namespace cryo {
namespace {

bool Exists(const char* path) {
  struct stat st;
  return ::stat(path, &st) == 0;
}

// clone3 refuses a set_tid that is in use with EEXIST only when it
// understands set_tid at all; our own pid is always in use, so nothing is
// created either way.
bool ProbeClone3SetTid() {
  pid_t tid = getpid();
  clone_args args{};
  args.exit_signal = SIGCHLD;
  args.set_tid = reinterpret_cast<uint64_t>(&tid);
  args.set_tid_size = 1;
  long r = ::syscall(SYS_clone3, &args, sizeof args);
  if (r == 0) _exit(0);  // cannot happen: the pid is ours
  return r < 0 && errno == EEXIST;
}

void ProbePidfd(KernelFeatures& k) {
  int pidfd = static_cast<int>(::syscall(SYS_pidfd_open, getpid(), 0));
  if (pidfd < 0) return;
  k.pidfd_open = true;
  int fd = static_cast<int>(::syscall(SYS_pidfd_getfd, pidfd, 0, 0));
  if (fd >= 0) {
    k.pidfd_getfd = true;
    ::close(fd);
  }
  ::close(pidfd);
}

bool ProbePagemapScan() {
  UniqueFd pm(::open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC));
  if (!pm) return false;
  static char probe[4096] __attribute__((aligned(4096)));
  probe[0] = 1;
  uint64_t vec[3 * 4];
  pm_scan_arg arg{};
  arg.size = sizeof arg;
  arg.start = reinterpret_cast<uint64_t>(probe);
  arg.end = arg.start + sizeof probe;
  arg.vec = reinterpret_cast<uint64_t>(vec);
  arg.vec_len = 4;
  arg.category_anyof_mask = 1 << 3;  // PAGE_IS_PRESENT
  arg.return_mask = 1 << 3;
  return ::ioctl(pm.get(), PAGEMAP_SCAN, &arg) == 1;
}

// PAGEMAP_SCAN reports guard regions (MADV_GUARD_INSTALL) when it takes
// PAGE_IS_GUARD in its return mask (Linux 6.14).
bool ProbePagemapScanGuard() {
  UniqueFd pm(::open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC));
  if (!pm) return false;
  static char probe[4096] __attribute__((aligned(4096)));
  uint64_t vec[3 * 4];
  pm_scan_arg arg{};
  arg.size = sizeof arg;
  arg.start = reinterpret_cast<uint64_t>(probe);
  arg.end = arg.start + sizeof probe;
  arg.vec = reinterpret_cast<uint64_t>(vec);
  arg.vec_len = 4;
  arg.return_mask = PAGE_IS_GUARD;
  return ::ioctl(pm.get(), PAGEMAP_SCAN, &arg) >= 0;
}

void ProbeUffd(KernelFeatures& k) {
  int fd = static_cast<int>(::syscall(SYS_userfaultfd, O_CLOEXEC | O_NONBLOCK));
  if (fd < 0) return;
  UniqueFd owned(fd);
  k.uffd = true;
  uffdio_api api{};
  api.api = UFFD_API;
  api.features = UFFD_FEATURE_WP_ASYNC | UFFD_FEATURE_WP_UNPOPULATED;
  k.uffd_wp_async = ::ioctl(fd, UFFDIO_API, &api) == 0 && (api.features & UFFD_FEATURE_WP_ASYNC);
  // UFFDIO_API is once per userfaultfd: a second one for these.
  UniqueFd other(static_cast<int>(::syscall(SYS_userfaultfd, O_CLOEXEC | O_NONBLOCK)));
  uffdio_api noncoop{};
  noncoop.api = UFFD_API;
  noncoop.features =
      UFFD_FEATURE_EVENT_FORK | UFFD_FEATURE_EVENT_REMAP | UFFD_FEATURE_EVENT_REMOVE | UFFD_FEATURE_EVENT_UNMAP;
  k.uffd_noncoop = other && ::ioctl(other.get(), UFFDIO_API, &noncoop) == 0;
}

// Soft-dirty works when clearing the bits and writing a page sets bit 55 of
// its pagemap entry; without CONFIG_MEM_SOFT_DIRTY it never does.
bool ProbeSoftDirty() {
  auto* page = static_cast<volatile char*>(
      ::mmap(nullptr, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0));
  if (page == MAP_FAILED) return false;
  page[0] = 1;
  bool dirty = false;
  UniqueFd clear(::open("/proc/self/clear_refs", O_WRONLY | O_CLOEXEC));
  UniqueFd pm(::open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC));
  if (clear && pm && ::write(clear.get(), "4", 1) == 1) {
    page[0] = 2;
    uint64_t entry = 0;
    off_t off = static_cast<off_t>(reinterpret_cast<uint64_t>(page) / 4096 * 8);
    if (::pread(pm.get(), &entry, sizeof entry, off) == sizeof entry) dirty = entry & (1ULL << 55);
  }
  ::munmap(const_cast<char*>(page), 4096);
  return dirty;
}

bool ProbeKcmp() {
  // KCMP_VM (1) of ourselves with ourselves: 0 when kcmp exists.
  return ::syscall(SYS_kcmp, getpid(), getpid(), 1, 0, 0) == 0;
}

bool ProbeMemfd() {
  int fd = static_cast<int>(::syscall(SYS_memfd_create, "cryo-probe", MFD_CLOEXEC));
  if (fd < 0) return false;
  ::close(fd);
  return true;
}

// An absent syscall says ENOSYS; a present one rejects our bad arguments.
bool SyscallExists(long nr) {
  long r = ::syscall(nr, -1, nullptr, nullptr, 0, 0, 0);
  return !(r < 0 && errno == ENOSYS);
}

uint64_t CapMask(const std::string& status, std::string_view key) {
  size_t at = status.find(key);
  if (at == std::string::npos) return 0;
  return std::strtoull(status.c_str() + at + key.size(), nullptr, 16);
}

void ProbeCaps(KernelFeatures& k) {
  auto status = ReadFile("/proc/self/status");
  if (!status) return;
  uint64_t eff = CapMask(*status, "CapEff:");
  k.cap_sys_resource = eff & (1ULL << 24);
  k.cap_checkpoint_restore = eff & (1ULL << 40);
}

void ProbeVdso(KernelFeatures& k) {
  auto maps = ReadFile("/proc/self/maps");
  if (!maps) return;
  std::istringstream in(*maps);
  std::string line;
  while (std::getline(in, line)) {
    size_t lb = line.find('[');
    if (lb == std::string::npos || line.back() != ']') continue;
    std::string name = line.substr(lb);
    if (name != "[vvar]" && name != "[vvar_vclock]" && name != "[vdso]" && name != "[vsyscall]")
      continue;
    uint64_t start = 0, end = 0;
    std::sscanf(line.c_str(), "%lx-%lx", &start, &end);
    k.vdso.push_back({name, end - start});
    if (name == "[vvar_vclock]") k.has_vvar_vclock = true;
  }
}

// Mount points and controllers of the cgroup hierarchies, from mountinfo:
// "... - cgroup cgroup rw,memory" and "... - cgroup2 cgroup2 rw".
void ProbeCgroups(KernelFeatures& k) {
  auto mi = ReadFile("/proc/self/mountinfo");
  if (!mi) return;
  std::istringstream in(*mi);
  std::string line;
  while (std::getline(in, line)) {
    size_t dash = line.find(" - ");
    if (dash == std::string::npos) continue;
    std::istringstream pre(line.substr(0, dash));
    std::string id, parent, devno, root, mountpoint;
    pre >> id >> parent >> devno >> root >> mountpoint;
    std::istringstream post(line.substr(dash + 3));
    std::string fstype, source, superopts;
    post >> fstype >> source >> superopts;
    if (fstype == "cgroup2" && k.cgroup2_mount.empty()) {
      k.cgroup2_mount = mountpoint;
    } else if (fstype == "cgroup") {
      // The controllers are the super options that are not generic.
      std::string ctrls;
      std::istringstream opts(superopts);
      std::string opt;
      while (std::getline(opts, opt, ',')) {
        if (opt == "rw" || opt == "ro" || opt.starts_with("release_agent") || opt == "clone_children" ||
            opt == "noprefix" || opt == "xattr" || opt == "cpuset_v2_mode")
          continue;
        ctrls += (ctrls.empty() ? "" : ",") + opt;
      }
      if (!ctrls.empty()) k.cgroup_v1.push_back(ctrls);
    }
  }
}

void ProbeXsave(KernelFeatures& k) {
  unsigned a, b, c, d;
  if (!__get_cpuid(1, &a, &b, &c, &d) || !(c & bit_XSAVE)) return;
  __cpuid_count(0xD, 0, a, b, c, d);
  k.xsave_size = b;  // size for the features enabled in XCR0
  uint32_t lo, hi;
  asm volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
  k.xsave_features = (uint64_t(hi) << 32) | lo;
}

std::string YesNo(bool b) { return b ? "yes" : "no"; }

}  // namespace

KernelFeatures ProbeKernelFeatures() {
  KernelFeatures k;
  utsname u;
  if (::uname(&u) == 0) k.release = u.release;
  k.page_size = static_cast<uint64_t>(::sysconf(_SC_PAGESIZE));
  if (auto pm = ReadFile("/proc/sys/kernel/pid_max")) k.pid_max = std::strtoul(pm->c_str(), nullptr, 10);
  k.clone3_set_tid = ProbeClone3SetTid();
  ProbePidfd(k);
  k.pagemap_scan = ProbePagemapScan();
  k.pagemap_scan_guard = k.pagemap_scan && ProbePagemapScanGuard();
  ProbeUffd(k);
  k.soft_dirty = ProbeSoftDirty();
  TracedChildProbe child = ProbeWithTracedChild();
  k.seccomp_filter_dump = child.seccomp_filter_dump;
  k.rseq_config = child.rseq_config;
  k.time_ns = Exists("/proc/self/ns/time");
  k.user_ns = Exists("/proc/self/ns/user");
  k.cgroup_ns = Exists("/proc/self/ns/cgroup");
  k.kcmp = ProbeKcmp();
  k.memfd_create = ProbeMemfd();
  k.openat2 = SyscallExists(SYS_openat2);
  k.mount_api = SyscallExists(SYS_open_tree) && SyscallExists(SYS_move_mount);
  k.map_files = ::access("/proc/self/map_files", R_OK) == 0;
  k.ns_last_pid = Exists("/proc/sys/kernel/ns_last_pid");
  ProbeCaps(k);
  k.apparmor = Exists("/sys/kernel/security/apparmor");
  k.selinux = Exists("/sys/fs/selinux/enforce");
  k.tun = Exists("/dev/net/tun");
  ProbeXsave(k);
  ProbeVdso(k);
  ProbeCgroups(k);
  return k;
}

KernelFeatures ProbeMemTrack() {
  KernelFeatures k;
  k.pagemap_scan = ProbePagemapScan();
  ProbeUffd(k);
  return k;
}

nlohmann::json FeaturesToJson(const KernelFeatures& k) {
  nlohmann::ordered_json j;
  j["release"] = k.release;
  j["page_size"] = k.page_size;
  j["pid_max"] = k.pid_max;
  j["clone3_set_tid"] = k.clone3_set_tid;
  j["pidfd_open"] = k.pidfd_open;
  j["pidfd_getfd"] = k.pidfd_getfd;
  j["pagemap_scan"] = k.pagemap_scan;
  j["pagemap_scan_guard"] = k.pagemap_scan_guard;
  j["uffd"] = k.uffd;
  j["uffd_wp_async"] = k.uffd_wp_async;
  j["uffd_noncoop"] = k.uffd_noncoop;
  j["soft_dirty"] = k.soft_dirty;
  j["seccomp_filter_dump"] = k.seccomp_filter_dump;
  j["rseq_config"] = k.rseq_config;
  j["time_ns"] = k.time_ns;
  j["user_ns"] = k.user_ns;
  j["cgroup_ns"] = k.cgroup_ns;
  j["kcmp"] = k.kcmp;
  j["memfd_create"] = k.memfd_create;
  j["openat2"] = k.openat2;
  j["mount_api"] = k.mount_api;
  j["map_files"] = k.map_files;
  j["ns_last_pid"] = k.ns_last_pid;
  j["cap_checkpoint_restore"] = k.cap_checkpoint_restore;
  j["cap_sys_resource"] = k.cap_sys_resource;
  j["apparmor"] = k.apparmor;
  j["selinux"] = k.selinux;
  j["tun"] = k.tun;
  j["xsave_size"] = k.xsave_size;
  j["xsave_features"] = fmt::format("{:#x}", k.xsave_features);
  nlohmann::ordered_json vdso = nlohmann::ordered_json::array();
  for (const auto& m : k.vdso) vdso.push_back({{"name", m.name}, {"size", m.size}});
  j["vdso"] = vdso;
  j["vvar_vclock"] = k.has_vvar_vclock;
  j["cgroup_v1"] = k.cgroup_v1;
  j["cgroup2_mount"] = k.cgroup2_mount;
  j["check_passes"] = KernelCheckPasses(k);
  return nlohmann::json::parse(j.dump());
}

std::string FormatFeatures(const KernelFeatures& k) {
  std::string out;
  auto row = [&](std::string_view name, std::string value) {
    out += fmt::format("{:<26} {}\n", name, value);
  };
  row("kernel", k.release);
  row("page size", std::to_string(k.page_size));
  row("pid_max", std::to_string(k.pid_max));
  row("clone3 set_tid", YesNo(k.clone3_set_tid));
  row("pidfd_open", YesNo(k.pidfd_open));
  row("pidfd_getfd", YesNo(k.pidfd_getfd));
  row("PAGEMAP_SCAN", YesNo(k.pagemap_scan));
  row("PAGEMAP_SCAN guard regions", YesNo(k.pagemap_scan_guard));
  row("userfaultfd", YesNo(k.uffd));
  row("uffd WP_ASYNC", YesNo(k.uffd_wp_async));
  row("soft-dirty", YesNo(k.soft_dirty) + (k.soft_dirty ? "" : " (not needed: writes are tracked with PAGEMAP_SCAN + uffd)"));
  row("memory tracking (pre-dump)", YesNo(k.MemTrack()));
  row("lazy pages (userfaultfd events)", YesNo(k.LazyPages()));
  row("seccomp filter dump", YesNo(k.seccomp_filter_dump));
  row("rseq configuration", YesNo(k.rseq_config));
  row("time namespace", YesNo(k.time_ns));
  row("user namespace", YesNo(k.user_ns));
  row("cgroup namespace", YesNo(k.cgroup_ns));
  row("kcmp", YesNo(k.kcmp));
  row("memfd_create", YesNo(k.memfd_create));
  row("openat2", YesNo(k.openat2));
  row("open_tree/move_mount", YesNo(k.mount_api));
  row("/proc/PID/map_files", YesNo(k.map_files));
  row("ns_last_pid", YesNo(k.ns_last_pid));
  row("CAP_CHECKPOINT_RESTORE", YesNo(k.cap_checkpoint_restore));
  row("CAP_SYS_RESOURCE", YesNo(k.cap_sys_resource));
  row("AppArmor", YesNo(k.apparmor));
  row("SELinux", YesNo(k.selinux));
  row("tun device", YesNo(k.tun));
  row("xsave", fmt::format("{} bytes, features {:#x}", k.xsave_size, k.xsave_features));
  std::string v;
  for (const auto& m : k.vdso) v += fmt::format("{}{} {}K", v.empty() ? "" : ", ", m.name, m.size / 1024);
  row("vDSO layout", v);
  std::string cg = k.cgroup2_mount.empty() ? "no cgroup2" : "cgroup2 at " + k.cgroup2_mount;
  cg += fmt::format(", {} v1 hierarchies", k.cgroup_v1.size());
  row("cgroups", cg);
  return out;
}

const std::vector<std::string_view>& CriuFeatureNames() {
  static const std::vector<std::string_view> kNames = {
      "mnt_id", "mem_dirty_track", "aio_remap", "timerfd", "tun", "tun_ns", "userns",
      "fdinfo_lock", "seccomp_suspend", "seccomp_filters", "loginuid", "cgroupns", "autofs",
      "tcp_half_closed", "compat_cr", "uffd", "uffd-noncoop", "can_map_vdso", "sk_ns",
      "sk_unix_file", "net_diag_raw", "nsid", "link_nsid", "kcmp_epoll", "timens",
      "external_net_ns", "clone3_set_tid", "newifindex", "nftables", "has_ipt_legacy",
      "pidfd_store", "ns_pid", "apparmor_stacking", "network_lock_nftables",
      "sockopt_buf_lock", "memfd_hugetlb", "move_mount_set_group", "openat2",
      "get_rseq_conf", "ipv6_freebind", "pagemap_scan", "timer_cr_ids", "overlayfs_maps",
      "breakpoints", "pagemap_scan_guard_pages"};
  return kNames;
}

std::optional<bool> CriuFeature(const KernelFeatures& k, std::string_view name) {
  // Features this kernel version has had for years (all of them predate
  // 5.10) hold whenever the probe saw a >= 5.10 kernel: clone3 set_tid
  // came in 5.5, so it stands for them. The rest come from the probe.
  bool modern = k.clone3_set_tid;
  if (name == "mem_dirty_track") return k.MemTrack();
  if (name == "uffd") return k.uffd;
  if (name == "uffd-noncoop") return k.LazyPages();
  if (name == "seccomp_filters" || name == "seccomp_suspend") return k.seccomp_filter_dump;
  if (name == "userns") return k.user_ns;
  if (name == "cgroupns") return k.cgroup_ns;
  if (name == "timens") return k.time_ns;
  if (name == "tun" || name == "tun_ns") return k.tun;
  if (name == "clone3_set_tid") return k.clone3_set_tid;
  if (name == "pidfd_store") return k.pidfd_open;
  if (name == "openat2") return k.openat2;
  if (name == "get_rseq_conf") return k.rseq_config;
  if (name == "pagemap_scan") return k.pagemap_scan;
  if (name == "move_mount_set_group") return k.mount_api;
  if (name == "memfd_hugetlb") return k.memfd_create;
  if (name == "kcmp_epoll") return k.kcmp;
  if (name == "apparmor_stacking") return k.apparmor;
  if (name == "can_map_vdso") return modern;  // arch_prctl(ARCH_MAP_VDSO_64), 4.9
  if (name == "has_ipt_legacy") return Exists("/usr/sbin/iptables-legacy");
  if (name == "loginuid") return Exists("/proc/self/loginuid");
  if (name == "autofs") {
    auto fs = ReadFile("/proc/filesystems");
    return fs && fs->find("\tautofs\n") != std::string::npos;
  }
  if (name == "compat_cr") return false;  // cryo restores 64-bit tasks only
  if (name == "breakpoints") return false;  // not implemented by cryo
  if (name == "pagemap_scan_guard_pages") return k.pagemap_scan_guard;
  for (std::string_view n : CriuFeatureNames())
    if (n == name) return modern;
  return std::nullopt;
}

bool KernelCheckPasses(const KernelFeatures& k) {
  return k.clone3_set_tid && k.pidfd_open && k.map_files && k.kcmp && k.memfd_create &&
         (k.pagemap_scan || Exists("/proc/self/pagemap"));
}

}  // namespace cryo
