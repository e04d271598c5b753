#include "engine/dump/dump.h"

#include <fcntl.h>
#include <linux/kcmp.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <map>
#include <vector>

#include "engine/base/files.h"
#include "engine/base/steps.h"
#include "engine/dump/memfd.h"
#include "engine/dump/memory.h"
#include "engine/dump/seize.h"
#include "engine/dump/task_state.h"
#include "engine/image/image_dir.h"
#include "engine/image/image_writer.h"
#include "engine/image/proto/core.pb.h"
#include "engine/image/proto/files.pb.h"
#include "engine/image/proto/mm.pb.h"
#include "engine/image/proto/pstree.pb.h"
#include "engine/proc/proc.h"

namespace cryo {
namespace {

// No F_SETOWN owner: all fields are required on the wire, all zero.
// TODO(issue 4): record F_GETOWN_EX owners when sockets and pipes land.
void NoOwner(img::fown_entry* f) {
  f->set_uid(0);
  f->set_euid(0);
  f->set_signum(0);
  f->set_pid_type(0);
  f->set_pid(0);
}

// files.img under construction: one entry per open file description.
class FileTable {
 public:
  uint32_t AddReg(const std::string& path, uint32_t flags, uint64_t pos, const struct stat& st) {
    uint32_t id = next_id_++;
    img::file_entry fe;
    fe.set_type(img::REG);
    fe.set_id(id);
    auto* r = fe.mutable_reg();
    r->set_id(id);
    r->set_flags(flags);
    r->set_pos(pos);
    NoOwner(r->mutable_fown());
    r->set_name(path);
    if (S_ISREG(st.st_mode)) r->set_size(static_cast<uint64_t>(st.st_size));
    r->set_mode(st.st_mode);
    entries_.push_back(std::move(fe));
    return id;
  }
  uint32_t AddMemfd(uint32_t inode_id, uint32_t flags, uint64_t pos) {
    uint32_t id = next_id_++;
    img::file_entry fe;
    fe.set_type(img::MEMFD);
    fe.set_id(id);
    auto* m = fe.mutable_memfd();
    m->set_id(id);
    m->set_flags(flags);
    m->set_pos(pos);
    NoOwner(m->mutable_fown());
    m->set_inode_id(inode_id);
    entries_.push_back(std::move(fe));
    return id;
  }
  // Files reached by path only (cwd, root, exe, mappings): shared by name.
  Result<uint32_t> ByPath(const std::string& path, uint32_t flags) {
    auto key = std::make_pair(path, flags);
    if (auto it = by_path_.find(key); it != by_path_.end()) return it->second;
    struct stat st;
    if (::stat(path.c_str(), &st) != 0) return ErrnoError("stat {}", path);
    uint32_t id = AddReg(path, flags, 0, st);
    by_path_[key] = id;
    return id;
  }
  Result<> Write(int dir) {
    ImageWriter w(dir, ImageKind::kFiles);
    for (const auto& e : entries_) CRYO_TRY(w.Write(e));
    return w.Close();
  }

 private:
  uint32_t next_id_ = 1;
  std::vector<img::file_entry> entries_;
  std::map<std::pair<std::string, uint32_t>, uint32_t> by_path_;
};

// An open file that was unlinked: its contents go to ghost-file-ID.img and
// remap-fpath.img says the file is to be found there (CRIU's ghost files).
Result<> DumpGhost(pid_t pid, int fd, uint32_t id, const struct stat& st, const Options& opts,
                   int dir, img::remap_file_path_entry* remap) {
  if (static_cast<uint64_t>(st.st_size) > opts.ghost_limit)
    return MakeError(EFBIG, "pid {} fd {}: unlinked file of {} bytes is over the ghost limit ({} bytes, --ghost-limit)",
                     pid, fd, st.st_size, opts.ghost_limit);
  UniqueFd f = CRYO_TRY(Open(fmt::format("/proc/{}/fd/{}", pid, fd), O_RDONLY));
  std::string data(static_cast<size_t>(st.st_size), '\0');
  size_t got = CRYO_TRY(ReadFull(f.get(), data.data(), data.size()));
  data.resize(got);
  img::ghost_file_entry g;
  g.set_uid(st.st_uid);
  g.set_gid(st.st_gid);
  g.set_mode(st.st_mode);
  g.set_dev(static_cast<uint32_t>((major(st.st_dev) << 20) | minor(st.st_dev)));
  g.set_ino(st.st_ino);
  g.mutable_atim()->set_tv_sec(static_cast<uint64_t>(st.st_atim.tv_sec));
  g.mutable_atim()->set_tv_usec(static_cast<uint64_t>(st.st_atim.tv_nsec / 1000));
  g.mutable_mtim()->set_tv_sec(static_cast<uint64_t>(st.st_mtim.tv_sec));
  g.mutable_mtim()->set_tv_usec(static_cast<uint64_t>(st.st_mtim.tv_nsec / 1000));
  g.set_chunks(false);
  g.set_size(data.size());
  ImageWriter w(dir, ImageKind::kGhostFile, id);
  CRYO_TRY(w.Write(g));
  CRYO_TRY(w.WriteRaw(std::string_view(data)));
  CRYO_TRY(w.Close());
  remap->set_orig_id(id);
  remap->set_remap_id(id);
  remap->set_remap_type(img::GHOST);
  return {};
}

// fdinfo-ID.img: the fd table, every fd a regular file, directory or device
// opened by path, or an unlinked regular file. Other kinds stop the dump
// with a clear error.
Result<> DumpFds(pid_t pid, FileTable& files, MemfdTable& memfds, const Options& opts, int dir,
                 uint32_t files_id) {
  ImageWriter w(dir, ImageKind::kFdinfo, files_id);
  ImageWriter remaps(dir, ImageKind::kRemapFpath);
  std::vector<std::pair<int, uint32_t>> seen;  // fd, file id
  for (int fd : ListFds(pid)) {
    std::string proc = fmt::format("/proc/{}/fd/{}", pid, fd);
    std::string link = CRYO_TRY(ReadLink(proc));
    std::string fdinfo = CRYO_TRY(ReadFile(fmt::format("/proc/{}/fdinfo/{}", pid, fd)));
    FdInfo fi = CRYO_TRY_CTX(ParseFdInfo(fdinfo), "pid {} fd {}", pid, fd);
    struct stat st;
    if (::stat(proc.c_str(), &st) != 0) return ErrnoError("stat pid {} fd {}", pid, fd);
    constexpr std::string_view kDeleted = " (deleted)";
    bool memfd = S_ISREG(st.st_mode) && (link.starts_with("/memfd:") || link.starts_with("memfd:"));
    bool ghost = S_ISREG(st.st_mode) && st.st_nlink == 0 && link.ends_with(kDeleted) &&
                 link.starts_with("/") && !link.starts_with("/memfd:");
    if (ghost) link.resize(link.size() - kDeleted.size());
    bool by_path = link.starts_with("/") && (S_ISREG(st.st_mode) || S_ISDIR(st.st_mode) || S_ISCHR(st.st_mode));
    if (!memfd && (!by_path || (!ghost && link.ends_with(kDeleted)) || link.starts_with("/memfd:")))
      return MakeError(ENOTSUP, "pid {} fd {}: {} is not supported by this build yet", pid, fd, link);
    // A terminal outside the dump (the shell's) is reopened by path on
    // restore, with --shell-job only, as CRIU does.
    if (S_ISCHR(st.st_mode) && (link.starts_with("/dev/pts/") || link.starts_with("/dev/tty")) && !opts.shell_job)
      return MakeError(ENOTSUP, "pid {} fd {}: terminal {} belongs to a shell job: dump with --shell-job", pid, fd, link);
    // dup'ed fds share one file description (offset, flags): one entry.
    uint32_t id = 0;
    for (auto [ofd, oid] : seen) {
      if (::syscall(SYS_kcmp, pid, pid, KCMP_FILE, ofd, fd) == 0) {
        id = oid;
        break;
      }
    }
    if (id == 0 && memfd) {
      uint32_t inode = CRYO_TRY(memfds.Inode(proc, link));
      id = files.AddMemfd(inode, fi.flags & ~static_cast<uint32_t>(O_CLOEXEC), fi.pos);
    }
    if (id == 0) {
      id = files.AddReg(link, fi.flags & ~static_cast<uint32_t>(O_CLOEXEC), fi.pos, st);
      if (ghost) {
        img::remap_file_path_entry remap;
        CRYO_TRY(DumpGhost(pid, fd, id, st, opts, dir, &remap));
        CRYO_TRY(remaps.Write(remap));
      }
    }
    seen.push_back({fd, id});
    img::fdinfo_entry e;
    e.set_id(id);
    e.set_flags((fi.flags & O_CLOEXEC) ? FD_CLOEXEC : 0);
    e.set_type(memfd ? img::MEMFD : img::REG);
    e.set_fd(static_cast<uint32_t>(fd));
    CRYO_TRY(w.Write(e));
  }
  CRYO_TRY(remaps.Close());
  return w.Close();
}

// What this build cannot bring back yet must stop the dump, not be
// silently dropped: child processes (trees) and namespaces of its own.
Result<> CheckSupported(pid_t pid, const std::vector<pid_t>& threads) {
  for (pid_t tid : threads) {
    auto children = ReadFile(fmt::format("/proc/{}/task/{}/children", pid, tid));
    if (children && children->find_first_not_of(" \n") != std::string::npos)
      return MakeError(ENOTSUP, "pid {} has child processes ({}): process trees are not supported by this build yet",
                       pid, children->substr(0, children->find_last_not_of(" \n") + 1));
  }
  for (const char* ns : {"pid", "mnt", "net", "ipc", "uts", "user", "cgroup", "time"}) {
    struct stat theirs, ours;
    if (::stat(fmt::format("/proc/{}/ns/{}", pid, ns).c_str(), &theirs) != 0) continue;
    if (::stat(fmt::format("/proc/self/ns/{}", ns).c_str(), &ours) != 0) continue;
    if (theirs.st_ino != ours.st_ino)
      return MakeError(ENOTSUP, "pid {} lives in its own {} namespace: namespaces are not supported by this build yet",
                       pid, ns);
  }
  return {};
}

Result<img::dump_stats_entry> DumpSeized(const Options& opts, SeizedProcess& sp, int dir, Log& log,
                                        uint64_t t_start) {
  pid_t pid = sp.pid();
  img::dump_stats_entry stats;
  uint64_t t_frozen = NowUs();
  CRYO_TRY(CheckSupported(pid, sp.threads()));
  stats.set_freezing_time(static_cast<uint32_t>(t_frozen - t_start));

  FileTable files;
  // Per thread: core images.
  img::core_entry leader;
  TaskExtras extras;
  CRYO_TRY(FaultPoint("task"));
  CRYO_TRY_CTX(DumpTaskCore(pid, leader, &extras, log), "dump task {}", pid);
  img::seccomp_entry seccomp;
  for (pid_t tid : sp.threads()) {
    img::core_entry core;
    if (tid == pid) {
      core = leader;
      // A stopped process comes back stopped.
      if (sp.was_stopped()) core.mutable_tc()->set_task_state(3);
    }
    CRYO_TRY_CTX(DumpThreadCore(pid, tid, core, &seccomp, log), "dump thread {}", tid);
    CRYO_TRY(WriteSingleEntryImage(dir, ImageKind::kCore, static_cast<uint64_t>(tid), core));
  }
  if (seccomp.seccomp_filters_size() > 0)
    CRYO_TRY(WriteSingleEntryImage(dir, ImageKind::kSeccomp, 0, seccomp));

  // Memory.
  CRYO_TRY(FaultPoint("memory"));
  ProcStat st = CRYO_TRY(ReadStat(pid));
  img::mm_entry mm;
  mm.set_mm_start_code(st.start_code);
  mm.set_mm_end_code(st.end_code);
  mm.set_mm_start_data(st.start_data);
  mm.set_mm_end_data(st.end_data);
  mm.set_mm_start_stack(st.start_stack);
  mm.set_mm_start_brk(st.start_brk);
  mm.set_mm_brk(extras.brk);
  mm.set_mm_arg_start(st.arg_start);
  mm.set_mm_arg_end(st.arg_end);
  mm.set_mm_env_start(st.env_start);
  mm.set_mm_env_end(st.env_end);
  std::string exe = CRYO_TRY(ReadLink(fmt::format("/proc/{}/exe", pid)));
  mm.set_exe_file_id(CRYO_TRY(files.ByPath(exe, O_RDONLY)));
  std::string auxv = CRYO_TRY(ReadFile(fmt::format("/proc/{}/auxv", pid)));
  for (size_t i = 0; i + 8 <= auxv.size(); i += 8) {
    uint64_t w;
    std::memcpy(&w, auxv.data() + i, 8);
    mm.add_mm_saved_auxv(w);
  }
  mm.set_dumpable(extras.dumpable);
  MemfdTable memfds;
  CRYO_TRY(DumpVmas(pid, mm,
                    [&](const std::string& path, bool writable) {
                      return files.ByPath(path, writable ? O_RDWR : O_RDONLY);
                    },
                    [&](uint64_t start, uint64_t end, const std::string& path) {
                      return memfds.Inode(fmt::format("/proc/{}/map_files/{:x}-{:x}", pid, start, end), path);
                    }));
  uint64_t t_mem = NowUs();
  MemStats ms = CRYO_TRY(DumpPages(pid, mm, dir, 1, log));
  stats.set_memdump_time(static_cast<uint32_t>(NowUs() - t_mem));
  stats.set_memwrite_time(0);
  stats.set_pages_scanned(ms.pages_scanned);
  stats.set_pages_skipped_parent(0);
  stats.set_pages_written(ms.pages_written);
  stats.set_pages_lazy(0);
  CRYO_TRY(WriteSingleEntryImage(dir, ImageKind::kMm, static_cast<uint64_t>(pid), mm));

  // Files, cwd and root.
  CRYO_TRY(FaultPoint("files"));
  CRYO_TRY(DumpFds(pid, files, memfds, opts, dir, static_cast<uint32_t>(pid)));
  CRYO_TRY(memfds.Write(dir, 2));
  img::fs_entry fs;
  fs.set_cwd_id(CRYO_TRY(files.ByPath(CRYO_TRY(ReadLink(fmt::format("/proc/{}/cwd", pid))), O_RDONLY | O_DIRECTORY)));
  fs.set_root_id(CRYO_TRY(files.ByPath(CRYO_TRY(ReadLink(fmt::format("/proc/{}/root", pid))), O_RDONLY | O_DIRECTORY)));
  fs.set_umask(extras.umask);
  CRYO_TRY(WriteSingleEntryImage(dir, ImageKind::kFs, static_cast<uint64_t>(pid), fs));
  CRYO_TRY(files.Write(dir));

  img::task_kobj_ids_entry ids;
  ids.set_vm_id(static_cast<uint32_t>(pid));
  ids.set_files_id(static_cast<uint32_t>(pid));
  ids.set_fs_id(static_cast<uint32_t>(pid));
  ids.set_sighand_id(static_cast<uint32_t>(pid));
  CRYO_TRY(WriteSingleEntryImage(dir, ImageKind::kIds, static_cast<uint64_t>(pid), ids));

  img::pstree_entry pe;
  pe.set_pid(static_cast<uint32_t>(pid));
  pe.set_ppid(0);
  pe.set_pgid(static_cast<uint32_t>(st.pgrp));
  pe.set_sid(static_cast<uint32_t>(st.session));
  for (pid_t t : sp.threads()) pe.add_threads(static_cast<uint32_t>(t));
  CRYO_TRY(WriteSingleEntryImage(dir, ImageKind::kPstree, 0, pe));

  // The inventory goes last, after everything else is on disk.
  CRYO_TRY(FaultPoint("inventory"));
  CRYO_TRY(SyncImageDir(dir));
  img::inventory_entry inv;
  inv.set_img_version(2);
  inv.set_fdinfo_per_id(true);
  inv.set_ns_per_id(true);
  *inv.mutable_root_ids() = ids;
  inv.set_lsmtype(img::NO_LSM);
  inv.set_network_lock_method(opts.network_lock == NetworkLock::kNftables ? 1
                              : opts.network_lock == NetworkLock::kSkip   ? 2
                                                                          : 0);
  {
    ImageWriter w(dir, ImageKind::kInventory);
    CRYO_TRY(w.Write(inv));
    int fd = CRYO_TRY(w.RawFd());
    if (::fsync(fd) != 0) return ErrnoError("fsync inventory.img");
    CRYO_TRY(w.Close());
  }
  stats.set_frozen_time(static_cast<uint32_t>(NowUs() - t_frozen));
  return stats;
}

}  // namespace

Result<img::dump_stats_entry> Dump(const Options& opts, const KernelFeatures&, Log& log) {
  uint64_t t_start = NowUs();
  UniqueFd dir = CRYO_TRY(OpenImageDir(opts.images_dir));
  SeizedProcess sp = CRYO_TRY(SeizedProcess::Seize(opts.pid, log));
  auto stats = DumpSeized(opts, sp, dir.get(), log, t_start);
  if (!stats) {
    // The process goes on as it was; the images dir has no inventory, so
    // nobody mistakes it for a dump.
    (void)sp.Release(ReleaseMode::kResume);
    return std::unexpected(stats.error());
  }
  ReleaseMode mode = opts.leave_running   ? ReleaseMode::kResume
                     : opts.leave_stopped ? ReleaseMode::kStop
                                          : ReleaseMode::kKill;
  CRYO_TRY(sp.Release(mode));
  log.Info("dumped {} into {}", opts.pid, opts.images_dir);
  return stats;
}

}  // namespace cryo
