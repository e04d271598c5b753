// Everything one cryo run is asked to do, from the command line, a config
// file or an RPC request alike. Field names follow CRIU's criu_opts so the
// RPC server fills the same struct. A plain value: no globals, passed in.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "engine/base/result.h"

namespace cryo {

enum class CgroupMode { kIgnore, kNone, kProps, kSoft, kFull, kStrict, kDefault };
enum class NetworkLock { kIptables, kNftables, kSkip };
enum class PreDumpMode { kSplice, kRead };

// --inherit-fd fd[N]:KEY
struct InheritFd {
  int fd = -1;
  std::string key;
};
// --ext-mount-map KEY:VAL (or "auto")
struct ExtMountMap {
  std::string key, val;
};
// --cgroup-root [CTRL:]PATH
struct CgroupRoot {
  // Absent: every controller not named by another root. "" is the cgroup2
  // hierarchy (runc sends it so, for the unified line).
  std::optional<std::string> ctrl;
  std::string path;
};
// --join-ns NS:PID|FILE[,EXTRA]
struct JoinNs {
  std::string ns, file, extra;
};
// --veth-pair IN=OUT[@BRIDGE]
struct VethPair {
  std::string in, out, bridge;
};

struct Options {
  std::string command;                 // dump, restore, check, ...
  std::vector<std::string> arguments;  // positional (swrk FD, show FILE, cpuinfo dump)

  // Where and how loudly.
  std::string images_dir = ".";
  std::string work_dir;  // empty: images_dir
  std::string log_file;  // relative to work_dir
  int log_level = 2;
  bool log_pid = false;
  bool display_stats = false;
  std::string pidfile;
  std::vector<std::string> config_files;  // --config
  bool no_default_config = false;
  bool json = false;    // cryo's own: check --json
  bool pretty = true;   // cryo's own: show with crit's readable forms

  // What to dump.
  pid_t pid = 0;  // -t/--tree
  bool leave_running = false;
  bool leave_stopped = false;
  bool shell_job = false;
  bool ext_unix_sk = false;
  std::vector<uint32_t> unix_sk_ino;
  bool tcp_established = false;
  bool tcp_close = false;
  bool tcp_skip_in_flight = false;
  bool file_locks = false;
  bool link_remap = false;
  bool evasive_devices = false;
  bool force_irmap = false;
  std::vector<std::string> irmap_scan_paths;
  uint64_t ghost_limit = 1 << 20;  // bytes an unlinked file's data may take (its blocks)
  bool ghost_fiemap = true;        // find its data with FIEMAP first (SEEK_DATA otherwise)
  bool track_mem = false;
  std::string prev_images_dir;  // parent_img
  bool auto_dedup = false;
  bool lazy_pages = false;
  PreDumpMode pre_dump_mode = PreDumpMode::kSplice;
  uint32_t timeout = 10;  // seconds, freezing
  std::string freeze_cgroup;
  std::vector<std::string> external;
  std::vector<std::string> skip_mnt;
  std::vector<std::string> enable_fs;
  bool ext_sharing = false;
  bool ext_masters = false;
  bool auto_ext_mnt = false;
  std::vector<ExtMountMap> ext_mnt;
  NetworkLock network_lock = NetworkLock::kNftables;  // CRIU 4.x default where nftables is there
  std::vector<std::string> action_scripts;
  std::vector<std::string> exec_cmd;

  // Restore.
  bool restore_detached = false;
  bool restore_sibling = false;
  bool new_pidns = false;  // cryo's own: restore in a new pid namespace (the dumped pids are taken here)
  std::string root;
  std::vector<InheritFd> inherit_fd;
  std::vector<JoinNs> join_ns;
  std::vector<VethPair> veths;
  uint32_t empty_ns = 0;  // CLONE_NEW* flags
  std::string lsm_profile;
  std::string lsm_mount_context;
  bool weak_sysctls = false;
  uint32_t cpu_cap = 0xffffffff;
  bool mntns_compat_mode = false;
  bool orphan_pts_master = false;
  int status_fd = -1;
  bool unprivileged = false;
  bool skip_file_rwx_check = false;

  // cgroups.
  bool manage_cgroups = false;
  CgroupMode manage_cgroups_mode = CgroupMode::kSoft;
  std::vector<CgroupRoot> cgroup_root;
  std::string cgroup_props;
  std::string cgroup_props_file;
  std::vector<std::string> cgroup_dump_controller;
  std::string cgroup_yard;

  // Page server and service.
  std::string address;
  int port = 0;
  int ps_socket = -1;
  bool page_server = false;  // dump --page-server
  bool daemon = false;       // -d for service/page-server
  bool tls = false;

  // check
  std::vector<std::string> features;  // check --feature
  bool check_all = false;
  bool check_extra = false;
  bool check_experimental = false;

  // The directory logs and stats go to.
  const std::string& WorkDir() const { return work_dir.empty() ? images_dir : work_dir; }
  // --cgroup-yard: a relative path is from the work dir, as with CRIU
  // (which works from there).
  std::string CgroupYard() const {
    if (cgroup_yard.empty() || cgroup_yard.front() == '/') return cgroup_yard;
    return WorkDir() + "/" + cgroup_yard;
  }
};

// Parsers for option values with structure; errors say what was expected.
Result<InheritFd> ParseInheritFd(std::string_view s);
Result<ExtMountMap> ParseExtMountMap(std::string_view s);
Result<CgroupRoot> ParseCgroupRoot(std::string_view s);
Result<JoinNs> ParseJoinNs(std::string_view s);
Result<VethPair> ParseVethPair(std::string_view s);
Result<CgroupMode> ParseCgroupMode(std::string_view s);
Result<NetworkLock> ParseNetworkLock(std::string_view s);
Result<uint32_t> ParseEmptyNs(std::string_view s);

}  // namespace cryo
