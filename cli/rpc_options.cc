#include "cli/rpc_options.h"

#include <fcntl.h>
#include <sched.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli/parse.h"
#include "engine/proc/proc.h"
#include "engine/base/files.h"

namespace cryo {
namespace {

Result<CgroupMode> CgroupModeFromRpc(rpc::criu_cg_mode m) {
  switch (m) {
    case rpc::IGNORE: return CgroupMode::kIgnore;
    case rpc::CG_NONE: return CgroupMode::kNone;
    case rpc::PROPS: return CgroupMode::kProps;
    case rpc::SOFT: return CgroupMode::kSoft;
    case rpc::FULL: return CgroupMode::kFull;
    case rpc::STRICT: return CgroupMode::kStrict;
    case rpc::DEFAULT: return CgroupMode::kSoft;
  }
  return MakeError(kBadRequest, "manage_cgroups_mode {}: unknown", static_cast<int>(m));
}

std::unexpected<Error> Refuse(std::string_view what) {
  return MakeError(kBadRequest, "{} is not supported by this build", what);
}

}  // namespace

Result<std::string> PeerDirectory(pid_t peer, int fd, std::vector<UniqueFd>& held) {
  std::string link = fmt::format("/proc/{}/fd/{}", peer, fd);
  UniqueFd dir(::open(link.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!dir) return ErrnoError("the client's fd {} (as {})", fd, link);
  // Its path, when that path is really it (same mount namespace); else
  // the fd itself.
  std::string path = fmt::format("/proc/self/fd/{}", dir.get());
  if (auto target = ReadLink(link); target && !target->empty() && (*target)[0] == '/') {
    struct stat a, b;
    if (::stat(target->c_str(), &a) == 0 && ::fstat(dir.get(), &b) == 0 && a.st_dev == b.st_dev &&
        a.st_ino == b.st_ino)
      path = *target;
  }
  held.push_back(std::move(dir));
  return path;
}

Result<Options> OptionsFromRpc(const rpc::criu_opts& r, const std::string& command, const RpcPeer& peer,
                               std::vector<UniqueFd>& held, const std::vector<std::string>& arguments) {
  Options o;
  if (r.has_config_file() && !r.config_file().empty()) {
    // A missing file is fine (runc names /etc/criu/runc.conf whether or not
    // it exists); one that is there must parse.
    auto text = ReadFile(r.config_file(), 1 << 20);
    if (text) {
      std::vector<std::string> words = {command};
      words.insert(words.end(), arguments.begin(), arguments.end());
      o = CRYO_TRY_CTX(ParseCommandLine(words, {{r.config_file(), *text}}), "config_file {}", r.config_file());
    } else if (text.error().err() != ENOENT) {
      return std::unexpected(text.error().context("config_file"));
    }
  }
  o.command = command;
  o.arguments = arguments;
  if (r.has_images_dir() && !r.images_dir().empty())
    o.images_dir = r.images_dir();
  else if (r.images_dir_fd() >= 0)
    o.images_dir = CRYO_TRY_CTX(PeerDirectory(peer.pid, r.images_dir_fd(), held), "images_dir_fd");
  else if (command == "dump" || command == "restore" || command == "cpuinfo")
    return MakeError(kBadRequest, "images_dir_fd is not set");
  if (r.has_work_dir_fd() && r.work_dir_fd() >= 0)
    o.work_dir = CRYO_TRY_CTX(PeerDirectory(peer.pid, r.work_dir_fd(), held), "work_dir_fd");
  if (r.has_log_file()) {
    if (r.log_file().find('/') != std::string::npos)
      return MakeError(kBadRequest, "log_file '{}': a plain name in the work dir is wanted", r.log_file());
    o.log_file = r.log_file();
  }
  if (r.has_log_level()) o.log_level = r.log_level();
  if (r.has_pid()) o.pid = r.pid();
  if (!r.has_pid() && command == "dump") o.pid = peer.pid;  // no pid: the client dumps itself
  if (r.has_leave_running()) o.leave_running = r.leave_running();
  if (r.has_leave_stopped()) o.leave_stopped = r.leave_stopped();
  if (r.has_ext_unix_sk()) o.ext_unix_sk = r.ext_unix_sk();
  for (const auto& u : r.unix_sk_ino()) o.unix_sk_ino.push_back(u.inode());
  if (r.has_tcp_established()) o.tcp_established = r.tcp_established();
  if (r.has_tcp_close()) o.tcp_close = r.tcp_close();
  if (r.has_tcp_skip_in_flight()) o.tcp_skip_in_flight = r.tcp_skip_in_flight();
  if (r.has_evasive_devices()) o.evasive_devices = r.evasive_devices();
  if (r.has_shell_job()) o.shell_job = r.shell_job();
  if (r.has_file_locks()) o.file_locks = r.file_locks();
  if (r.has_root()) o.root = r.root();
  if (r.has_link_remap()) o.link_remap = r.link_remap();
  if (r.has_force_irmap()) o.force_irmap = r.force_irmap();
  for (const auto& p : r.irmap_scan_paths()) o.irmap_scan_paths.push_back(p);
  if (r.has_ghost_limit()) o.ghost_limit = r.ghost_limit();
  if (r.has_auto_dedup()) o.auto_dedup = r.auto_dedup();
  if (r.has_cpu_cap()) o.cpu_cap = r.cpu_cap();
  for (const auto& c : r.exec_cmd()) o.exec_cmd.push_back(c);
  for (const auto& m : r.ext_mnt()) o.ext_mnt.push_back({m.key(), m.val()});
  if (r.has_auto_ext_mnt()) o.auto_ext_mnt = r.auto_ext_mnt();
  if (r.has_ext_sharing()) o.ext_sharing = r.ext_sharing();
  if (r.has_ext_masters()) o.ext_masters = r.ext_masters();
  for (const auto& m : r.skip_mnt()) o.skip_mnt.push_back(m);
  for (const auto& f : r.enable_fs()) o.enable_fs.push_back(f);
  for (const auto& e : r.external()) o.external.push_back(e);
  for (const auto& v : r.veths()) o.veths.push_back({v.if_in(), v.if_out(), ""});
  if (r.has_empty_ns()) {
    if (r.empty_ns() & ~static_cast<uint32_t>(CLONE_NEWNET))
      return MakeError(kBadRequest, "empty_ns {:#x}: only CLONE_NEWNET can be left empty", r.empty_ns());
    o.empty_ns = r.empty_ns();
  }
  for (const auto& j : r.join_ns()) o.join_ns.push_back({j.ns(), j.ns_file(), j.extra_opt()});
  // cgroups: manage_cgroups true means soft, false ignore; an explicit
  // mode wins.
  if (r.has_manage_cgroups()) o.manage_cgroups_mode = r.manage_cgroups() ? CgroupMode::kSoft : CgroupMode::kIgnore;
  if (r.has_manage_cgroups_mode()) o.manage_cgroups_mode = CRYO_TRY(CgroupModeFromRpc(r.manage_cgroups_mode()));
  o.manage_cgroups = o.manage_cgroups_mode != CgroupMode::kIgnore;
  for (const auto& c : r.cg_root()) {
    CgroupRoot root;
    if (c.has_ctrl()) root.ctrl = c.ctrl();
    root.path = c.path();
    o.cgroup_root.push_back(std::move(root));
  }
  if (r.has_cgroup_props()) o.cgroup_props = r.cgroup_props();
  if (r.has_cgroup_props_file()) o.cgroup_props_file = r.cgroup_props_file();
  for (const auto& c : r.cgroup_dump_controller()) o.cgroup_dump_controller.push_back(c);
  if (r.has_cgroup_yard()) o.cgroup_yard = r.cgroup_yard();
  if (r.has_freeze_cgroup()) o.freeze_cgroup = r.freeze_cgroup();
  if (r.has_timeout()) o.timeout = r.timeout();
  if (r.has_weak_sysctls()) o.weak_sysctls = r.weak_sysctls();
  if (r.has_orphan_pts_master()) o.orphan_pts_master = r.orphan_pts_master();
  if (r.has_lsm_profile()) o.lsm_profile = r.lsm_profile();
  if (r.has_lsm_mount_context()) o.lsm_mount_context = r.lsm_mount_context();
  if (r.has_mntns_compat_mode()) o.mntns_compat_mode = r.mntns_compat_mode();
  if (r.has_skip_file_rwx_check()) o.skip_file_rwx_check = r.skip_file_rwx_check();
  if (r.has_unprivileged()) o.unprivileged = r.unprivileged();
  if (r.has_display_stats()) o.display_stats = r.display_stats();
  if (r.has_network_lock()) {
    switch (r.network_lock()) {
      case rpc::IPTABLES: o.network_lock = NetworkLock::kIptables; break;
      case rpc::NFTABLES: o.network_lock = NetworkLock::kNftables; break;
      case rpc::SKIP: o.network_lock = NetworkLock::kSkip; break;
    }
  }
  if (r.has_rst_sibling()) {
    if (peer.service && r.rst_sibling()) return MakeError(kBadRequest, "rst_sibling: swrk only");
    o.restore_sibling = r.rst_sibling();
  }
  for (const auto& i : r.inherit_fd()) {
    if (peer.service) return MakeError(kBadRequest, "inherit_fd: swrk only");
    if (i.fd() < 0 || ::fcntl(i.fd(), F_GETFD) < 0)
      return MakeError(kBadRequest, "inherit_fd {}: cryo has no fd {}", i.key(), i.fd());
    o.inherit_fd.push_back({i.fd(), i.key()});
  }
  // What this build does not do: said so, not silently dropped.
  // The page server: where a dump sends its pages (or where PAGE_SERVER
  // listens); ps.fd is a socket already connected, in cryo's fd table.
  if (r.has_ps() && (r.ps().has_address() || r.ps().has_port() || r.ps().has_fd())) {
    if (r.ps().has_fd()) {
      if (peer.service) return MakeError(kBadRequest, "ps.fd: swrk only");
      if (r.ps().fd() < 0 || ::fcntl(r.ps().fd(), F_GETFD) < 0)
        return MakeError(kBadRequest, "ps.fd {}: cryo has no such fd", r.ps().fd());
      o.ps_socket = r.ps().fd();
    }
    // A lazy dump listens there itself (dump/dump.h) instead.
    o.page_server = !r.lazy_pages();
    o.address = r.ps().address();
    o.port = r.ps().port();
  }
  // Dump: the lazy pages stay with the frozen tree, served from `ps`;
  // restore: a lazy-pages daemon fills them in.
  o.lazy_pages = r.lazy_pages();
  if (o.lazy_pages && o.ps_socket >= 0) return MakeError(kBadRequest, "lazy_pages: with ps.fd (the dump listens itself)");
  o.track_mem = r.track_mem();
  if (r.has_parent_img()) o.prev_images_dir = r.parent_img();
  if (r.tls()) return Refuse("tls");
  o.restore_detached = true;
  CRYO_TRY_CTX(ValidateOptions(o), "options");
  return o;
}

}  // namespace cryo
