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
#include <optional>
#include <set>
#include <vector>

#include "cgroups/dump.h"
#include "cgroups/freezer.h"
#include "engine/base/cpu_pin.h"
#include "engine/base/files.h"
#include "engine/base/steps.h"
#include "engine/dump/memfd.h"
#include "engine/dump/mem_track.h"
#include "engine/dump/image_worker.h"
#include "engine/mem/page_chain.h"
#include "engine/mem/page_read.h"
#include "engine/mem/page_server.h"
#include "engine/mem/pagemap_flags.h"
#include "engine/dump/pid_map.h"
#include "engine/dump/memory.h"
#include "engine/dump/fds.h"
#include "engine/dump/file_table.h"
#include "engine/dump/tree.h"
#include "engine/dump/task_state.h"
#include "engine/image/image_dir.h"
#include "engine/image/image_reader.h"
#include "engine/image/image_writer.h"
#include "engine/image/proto/core.pb.h"
#include "engine/image/proto/files.pb.h"
#include "engine/image/proto/mm.pb.h"
#include "engine/image/proto/pstree.pb.h"
#include "engine/ns/mqueue.h"
#include "engine/ns/namespaces.h"
#include "engine/proc/proc.h"
#include "engine/proc/sessions.h"

namespace cryo {
namespace {

bool SameAs(pid_t a, pid_t b, int what) { return ::syscall(SYS_kcmp, a, b, what, 0, 0) == 0; }

// Sessions and groups restore can rebuild: a task leads its session,
// inherits its parent's, was born in it under parents that called setsid
// later, is an orphan of a session whose leader descends from its parent
// (engine/proc/sessions.h), or is in a session whose leader is gone
// (restore recreates the leader as a helper that exits again: every such
// member must then have the same parent, and its own fd table and fs);
// its group is its own, one a task of the tree leads in the same session,
// the root's, or one whose leader is gone (a helper again).
Result<> CheckSessions(const std::vector<TreeTask>& tasks) {
  std::set<pid_t> pids;
  std::map<pid_t, pid_t> leader_sid;  // group leader pid -> its session
  std::vector<SessionTask> st;
  for (const auto& t : tasks) {
    pids.insert(t.pid);
    if (t.pgid == t.pid) leader_sid[t.pid] = t.sid;
    st.push_back({t.pid, t.sid, t.parent});
  }
  SessionPlan plan = CRYO_TRY(PlanSessions(st));
  std::map<pid_t, pid_t> lost_session_parent;  // session without a leader -> its members' parent
  std::map<pid_t, pid_t> lost_group_sid;       // group without a leader -> its session
  for (size_t i = 1; i < tasks.size(); i++) {
    const auto& t = tasks[i];
    const auto& parent = tasks[static_cast<size_t>(t.parent)];
    if (t.sid != t.pid && t.sid != parent.sid) {
      if (plan.via[i] >= 0) {
        if (!t.zombie() && (SameAs(t.pid, parent.pid, KCMP_FILES) || SameAs(t.pid, parent.pid, KCMP_FS)))
          return MakeError(ENOTSUP, "pid {} (an orphan of session {}) shares files or fs with its parent: not supported",
                           t.pid, t.sid);
      } else if (!pids.count(t.sid) && !plan.early[i]) {
        if (t.sid == tasks[0].sid)
          return MakeError(ENOTSUP, "pid {} is in session {}, whose leader is outside the tree, but not its parent's: not supported",
                           t.pid, t.sid);
        auto [it, fresh] = lost_session_parent.emplace(t.sid, parent.pid);
        if (!fresh && it->second != parent.pid)
          return MakeError(ENOTSUP, "session {} (its leader is gone) has members under parents {} and {}: not supported",
                           t.sid, it->second, parent.pid);
        if (!t.zombie() && (SameAs(t.pid, parent.pid, KCMP_FILES) || SameAs(t.pid, parent.pid, KCMP_FS)))
          return MakeError(ENOTSUP, "pid {} shares files or fs with its parent but not its session: not supported", t.pid);
      }
    }
    if (t.pgid == t.pid || t.pgid == tasks[0].pgid) continue;
    if (auto it = leader_sid.find(t.pgid); it != leader_sid.end()) {
      if (it->second != t.sid) return MakeError(EINVAL, "pid {}: group {} is in another session", t.pid, t.pgid);
      continue;
    }
    if (t.pgid == t.sid && !pids.count(t.sid)) continue;  // the lost session's own group
    if (pids.count(t.pgid))
      return MakeError(ENOTSUP, "pid {} is in group {}, led by a task in another session", t.pid, t.pgid);
    auto [it, fresh] = lost_group_sid.emplace(t.pgid, t.sid);
    if (!fresh && it->second != t.sid) return MakeError(EINVAL, "pid {}: group {} is in another session", t.pid, t.pgid);
  }
  return {};
}

// Everything the processes of one dump share: files.img, memfd inodes,
// seccomp.img, page image numbers.
struct TreeDump {
  TreeDump(const Options& o, int d, cgroups::CgroupDumper c, ns::NamespaceDumper n, PidMap p)
      : opts(o), dir(d), cgroups(std::move(c)), namespaces(n), pids(std::move(p)), fds(o, d, files, memfds) {}
  const Options& opts;
  int dir;
  cgroups::CgroupDumper cgroups;
  ns::NamespaceDumper namespaces;
  PidMap pids;  // the pids the images name tasks by
  FileTable files;
  MemfdTable memfds;
  FdDumper fds;
  img::seccomp_entry seccomp;
  PageSink* sink = nullptr;  // pagemaps and pages: image files, or a page server
  ImageWorker* worker = nullptr;  // the only user of sink and mem until drained
  MemStats mem;
  // Incremental dumps: the tracking (null without), whether to arm it for
  // the next run, the parent images.
  MemTracker* track = nullptr;
  bool arm = false;
  int parent_dir = -1;
  std::vector<img::pstree_entry> pstree;
  std::vector<img::task_kobj_ids_entry> ids;  // by task index
};

// A zombie: its exit status, in a core image with the task part only.
Result<> DumpZombie(TreeDump& d, const TreeTask& t) {
  img::core_entry core;
  core.set_mtype(img::core_entry::X86_64);
  auto* tc = core.mutable_tc();
  tc->set_task_state(2);
  tc->set_exit_code(static_cast<uint32_t>(t.exit_code));
  tc->set_personality(0);
  tc->set_flags(0);
  tc->set_blk_sigset(0);
  auto st = ReadStat(t.pid);
  tc->set_comm(st ? st->comm : "");
  CRYO_TRY(WriteSingleEntryImage(d.dir, ImageKind::kCore, static_cast<uint64_t>(d.pids.Dumped(t.pid)), core));
  img::task_kobj_ids_entry ids;
  d.ids.push_back(ids);
  return {};
}

// SIGIO owners in the tree (FdDumper::SetOwners): its threads and
// processes by tid, its groups by pgid, as cryo sees them.
std::function<pid_t(int, pid_t)> TreeOwners(const std::vector<TreeTask>& tasks, const PidMap& pids) {
  std::map<pid_t, pid_t> tids, groups;
  for (const auto& t : tasks) {
    if (t.zombie()) continue;
    for (pid_t tid : t.live->threads()) tids[tid] = pids.Dumped(tid);
    groups[t.pgid] = pids.Pgid(t);
  }
  return [tids = std::move(tids), groups = std::move(groups)](int type, pid_t pid) -> pid_t {
    const auto& where = type == F_OWNER_PGRP ? groups : tids;
    auto it = where.find(pid);
    return it == where.end() ? 0 : it->second;
  };
}

// A per-process image, written by the worker (a copy of `m` goes with it).
template <typename M>
Result<> WriteLater(TreeDump& d, ImageKind kind, uint64_t id, const M& m) {
  return d.worker->Post([dir = d.dir, kind, id, m]() { return WriteSingleEntryImage(dir, kind, id, m); });
}

// The task's pages, pointing into the parent images for those unchanged
// since, read and written by the image worker while the tracer goes on;
// then tracking armed for the next run, when asked (after its pages:
// arming resets what the scan reads, and it makes remote calls).
Result<> DumpMemory(TreeDump& d, pid_t pid, pid_t vpid, const img::mm_entry& mm, Log& log) {
  CRYO_TRY(d.worker->Post([&d, pid, vpid, mm, &log]() -> Result<> {
    ParentCover cover;
    bool relative = d.track && d.track->relative_to_parent();
    if (relative) cover = CRYO_TRY(ReadParentCover(d.parent_dir, vpid));
    MemStats ms = CRYO_TRY_CTX(
        DumpPages(pid, mm, *d.sink, log, vpid, relative ? &cover : nullptr, d.opts.lazy_pages), "pages of {}", pid);
    d.mem.pages_lazy += ms.pages_lazy;
    d.mem.pages_scanned += ms.pages_scanned;
    d.mem.pages_written += ms.pages_written;
    d.mem.pages_skipped_parent += ms.pages_skipped_parent;
    return {};
  }));
  if (d.arm) {
    CRYO_TRY(d.worker->Drain());
    CRYO_TRY(d.track->Arm(pid, mm));
  }
  return {};
}

// "/proc/PID (deleted)" or below it, PID a process that has exited: the
// path without " (deleted)", and PID.
std::optional<std::pair<std::string, pid_t>> DeadProcDir(std::string_view link) {
  constexpr std::string_view kDeleted = " (deleted)";
  if (!link.starts_with("/proc/") || !link.ends_with(kDeleted)) return std::nullopt;
  std::string_view path = link.substr(0, link.size() - kDeleted.size());
  std::string_view rest = path.substr(6);
  size_t digits = 0;
  while (digits < rest.size() && rest[digits] >= '0' && rest[digits] <= '9') digits++;
  if (digits == 0 || digits > 9 || (digits < rest.size() && rest[digits] != '/')) return std::nullopt;
  return std::make_pair(std::string(path), static_cast<pid_t>(std::stoi(std::string(rest.substr(0, digits)))));
}

Result<> DumpProcess(TreeDump& d, const std::vector<TreeTask>& tasks, size_t index, Log& log) {
  const TreeTask& t = tasks[index];
  pid_t pid = t.pid;
  const SeizedProcess& sp = *t.live;
  pid_t vpid = d.pids.Dumped(pid);  // what the images call it
  // What it shares with its parent (CLONE_FILES, CLONE_FS) is dumped once.
  img::task_kobj_ids_entry ids;
  CRYO_TRY(d.namespaces.Check(pid, ids));
  d.files.SetView(d.namespaces.ViewOf(pid, ids));
  d.fds.SetView(d.namespaces.ViewOf(pid, ids));
  d.fds.SetOtherMntNs(ids.mnt_ns_id() != ns::kMntId);
  ids.set_vm_id(static_cast<uint32_t>(vpid));
  ids.set_files_id(static_cast<uint32_t>(vpid));
  ids.set_fs_id(static_cast<uint32_t>(vpid));
  ids.set_sighand_id(static_cast<uint32_t>(vpid));
  bool shared_files = false;
  if (t.parent >= 0) {
    const TreeTask& parent = tasks[static_cast<size_t>(t.parent)];
    const auto& pids = d.ids[static_cast<size_t>(t.parent)];
    if (SameAs(pid, parent.pid, KCMP_VM))
      return MakeError(ENOTSUP, "pid {} shares its memory with its parent {} (CLONE_VM): not supported", pid,
                       parent.pid);
    if (SameAs(pid, parent.pid, KCMP_FILES)) {
      ids.set_files_id(pids.files_id());
      shared_files = true;
    }
    if (SameAs(pid, parent.pid, KCMP_FS)) ids.set_fs_id(pids.fs_id());
  }

  // Per thread: core images, the leader's first.
  ns::IdMaps id_maps = CRYO_TRY(ns::TaskIdMaps(pid));
  TaskExtras extras;
  CRYO_TRY(FaultPoint("task"));
  for (pid_t tid : sp.threads()) {
    img::core_entry core;
    if (tid == pid) {
      CRYO_TRY_CTX(DumpLeaderCore(pid, id_maps, core, &extras, &d.seccomp, log), "dump task {}", pid);
      // A stopped process comes back stopped.
      if (sp.was_stopped()) {
        core.mutable_tc()->set_task_state(3);
        core.mutable_tc()->set_stop_signo(static_cast<uint32_t>(sp.stop_signo()));
      }
    } else {
      CRYO_TRY_CTX(DumpThreadCore(pid, tid, id_maps, core, &d.seccomp, log), "dump thread {}", tid);
    }
    core.mutable_thread_core()->set_cg_set(CRYO_TRY(d.cgroups.SetOf(pid, tid)));
    if (tid == pid && core.tc().has_timers())
      for (auto& pt : *core.mutable_tc()->mutable_timers()->mutable_posix())
        if (pt.notify_thread_id() != 0) pt.set_notify_thread_id(d.pids.Dumped(pt.notify_thread_id()));
    CRYO_TRY(WriteLater(d, ImageKind::kCore, static_cast<uint64_t>(d.pids.Dumped(tid)), core));
  }

  // Memory.
  CRYO_TRY(FaultPoint("memory"));
  const ProcStat& st = extras.stat;
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
  mm.set_exe_file_id(CRYO_TRY(d.fds.ByPath(exe, fmt::format("/proc/{}/exe", pid), O_RDONLY)));
  std::string auxv = CRYO_TRY(ReadFile(fmt::format("/proc/{}/auxv", pid)));
  for (size_t i = 0; i + 8 <= auxv.size(); i += 8) {
    uint64_t w;
    std::memcpy(&w, auxv.data() + i, 8);
    mm.add_mm_saved_auxv(w);
  }
  mm.set_dumpable(extras.dumpable);
  mm.set_thp_disabled(extras.thp_disabled);
  CRYO_TRY(DumpVmas(pid, mm,
                    [&](const std::string& link, const std::string& proc, bool writable) {
                      return d.fds.ByPath(link, proc, writable ? O_RDWR : O_RDONLY);
                    },
                    [&](uint64_t start, uint64_t end, const std::string& path) {
                      return d.memfds.Inode(fmt::format("/proc/{}/map_files/{:x}-{:x}", pid, start, end), path);
                    }));
  for (const auto& v : mm.vmas()) {
    constexpr uint32_t kSysvIpc = 1u << 10;
    if ((v.status() & kSysvIpc) && !d.namespaces.OwnIpc())
      return MakeError(ENOTSUP,
                       "pid {}: SysV shared memory {} of the host's IPC namespace is attached: not supported (give "
                       "the tree an IPC namespace of its own)",
                       pid, v.shmid());
  }
  for (const auto& v : mm.vmas()) {
    constexpr uint32_t kAnonShared = 1u << 8;
    if (v.status() & kAnonShared)
      CRYO_TRY(d.memfds.AnonShared(fmt::format("/proc/{}/map_files/{:x}-{:x}", pid, v.start(), v.end()), v.shmid()));
  }
  CRYO_TRY(DumpMemory(d, pid, vpid, mm, log));
  CRYO_TRY(WriteLater(d, ImageKind::kMm, static_cast<uint64_t>(vpid), mm));

  // Files, cwd and root.
  CRYO_TRY(FaultPoint("files"));
  if (!shared_files) CRYO_TRY(d.fds.DumpTable(pid, ids.files_id()));
  img::fs_entry fs;
  std::string cwd_proc = fmt::format("/proc/{}/cwd", pid);
  std::string cwd = CRYO_TRY(ReadLink(cwd_proc));
  if (auto dead = DeadProcDir(cwd)) {
    // The /proc dir of a process that has exited: one with its pid stands
    // in for it on restore (CRIU's PROCFS remap).
    struct stat st{};
    st.st_mode = S_IFDIR | 0555;
    fs.set_cwd_id(d.files.AddReg(dead->first, O_RDONLY | O_DIRECTORY, 0, st));
    d.fds.AddDeadProc(fs.cwd_id(), dead->second);
  } else {
    fs.set_cwd_id(CRYO_TRY(d.fds.ByPath(cwd, cwd_proc, O_RDONLY | O_DIRECTORY)));
  }
  std::string root_proc = fmt::format("/proc/{}/root", pid);
  fs.set_root_id(CRYO_TRY(d.fds.ByPath(CRYO_TRY(ReadLink(root_proc)), root_proc, O_RDONLY | O_DIRECTORY)));
  fs.set_umask(extras.umask);
  CRYO_TRY(WriteLater(d, ImageKind::kFs, static_cast<uint64_t>(vpid), fs));
  CRYO_TRY(WriteLater(d, ImageKind::kIds, static_cast<uint64_t>(vpid), ids));
  d.ids.push_back(ids);
  return {};
}

// How an incremental dump relates to the runs before and after it.
struct Incremental {
  PageSink* sink = nullptr;     // where pages go (not incremental, but per dump as well)
  MemTracker* track = nullptr;  // null: no tracking asked or used
  bool arm = false;             // track writes from this dump on
  int parent_dir = -1;
  const cpu_set_t* worker_cpus = nullptr;  // where the image worker runs (null: anywhere)
};

// The parent images of an incremental dump: opened relative to the images
// dir (as CRIU takes --prev-images-dir), linked as `parent`, their run id
// read (it names what the memory tracking is relative to).
struct ParentImages {
  UniqueFd dir;
  std::string run_id;
};

Result<ParentImages> OpenParent(int dir, const std::string& rel) {
  ParentImages p;
  if (rel.empty()) return p;
  p.dir = CRYO_TRY_CTX(OpenAt(dir, rel, O_RDONLY | O_DIRECTORY), "parent images");
  img::inventory_entry inv;
  if (auto r = ReadSingleEntryImage(p.dir.get(), ImageKind::kInventory, 0, inv); !r)
    return MakeError(r.error().err(), "parent images {} are not complete: {}", rel, r.error().message());
  p.run_id = inv.dump_criu_run_id();
  if (::unlinkat(dir, "parent", 0) != 0 && errno != ENOENT) return ErrnoError("replace the parent link");
  if (::symlinkat(rel.c_str(), dir, "parent") != 0) return ErrnoError("link parent images {}", rel);
  return p;
}

uint64_t UptimeUs() {
  timespec boot{};
  ::clock_gettime(CLOCK_BOOTTIME, &boot);
  return uint64_t(boot.tv_sec) * 1000000ULL + uint64_t(boot.tv_nsec) / 1000;
}

// The inventory goes last, after everything else is on disk.
Result<> WriteInventory(int dir, const img::inventory_entry& inv) {
  CRYO_TRY(FaultPoint("inventory"));
  CRYO_TRY(SyncImageDir(dir));
  ImageWriter w(dir, ImageKind::kInventory);
  CRYO_TRY(w.Write(inv));
  int fd = CRYO_TRY(w.RawFd());
  if (::fsync(fd) != 0) return ErrnoError("fsync inventory.img");
  return w.Close();
}

Result<img::dump_stats_entry> DumpTree(const Options& opts, SeizedTree& tree, int dir, Log& log,
                                       uint64_t t_start, const cgroups::Freezer* freezer,
                                       RepairedConnections& repaired, std::string_view run_id,
                                       const Incremental& inc) {
  img::dump_stats_entry stats;
  uint64_t t_frozen = NowUs();
  uint64_t frozen_uptime = UptimeUs();
  stats.set_freezing_time(static_cast<uint32_t>(t_frozen - t_start));
  const auto& tasks = tree.tasks();
  CRYO_TRY(CheckSessions(tasks));
  uint64_t t_mem = NowUs();
  std::vector<pid_t> live;
  for (const auto& t : tasks)
    if (!t.zombie()) live.push_back(t.pid);
  TreeDump d(opts, dir, CRYO_TRY(cgroups::CgroupDumper::Make(opts)),
             CRYO_TRY(ns::NamespaceDumper::Make(tasks[0].pid, opts, live)), CRYO_TRY(PidMap::Build(tasks)));
  d.sink = inc.sink;
  d.track = inc.track;
  d.arm = inc.arm;
  d.parent_dir = inc.parent_dir;
  // Declared after d: its jobs use d, so it goes first.
  ImageWorker worker(inc.worker_cpus);
  d.worker = &worker;
  d.fds.SetPidMap(&d.pids);
  d.fds.SetOwners(TreeOwners(tasks, d.pids), &log);
  d.files.SetView(d.namespaces.View());
  d.fds.SetView(d.namespaces.View());
  d.fds.SetMounts(d.namespaces.MountIds());
  // Without POSIX queues in this kernel there are none to find.
  if (auto devs = ns::MqueueDevs(tasks[0].pid)) d.fds.SetMqueueDevs(std::move(*devs));
  if (freezer) d.cgroups.NoteFreezer(freezer->where(), freezer->was_frozen());
  CRYO_TRY(d.cgroups.SetRoot(tasks[0].pid));
  d.fds.SetNetnsOf(tasks[0].pid);
  d.fds.SetRepaired(&repaired);
  d.namespaces.SetNetLock(std::string(run_id));  // the network lock is not part of the dump
  CRYO_TRY(d.fds.FindPtys(live));
  std::vector<img::pstree_entry> pstree;
  for (size_t i = 0; i < tasks.size(); i++) {
    const TreeTask& t = tasks[i];
    if (t.zombie())
      CRYO_TRY(DumpZombie(d, t));
    else
      CRYO_TRY(DumpProcess(d, tasks, i, log));
    img::pstree_entry pe;
    pe.set_pid(static_cast<uint32_t>(d.pids.Dumped(t.pid)));
    pe.set_ppid(t.parent < 0 ? 0 : static_cast<uint32_t>(d.pids.Dumped(tasks[static_cast<size_t>(t.parent)].pid)));
    pe.set_pgid(static_cast<uint32_t>(d.pids.Pgid(t)));
    pe.set_sid(static_cast<uint32_t>(d.pids.Sid(t)));
    if (t.zombie())
      pe.add_threads(static_cast<uint32_t>(d.pids.Dumped(t.pid)));
    else
      for (pid_t th : t.live->threads()) pe.add_threads(static_cast<uint32_t>(d.pids.Dumped(th)));
    pstree.push_back(std::move(pe));
  }
  // What comes after the tasks (sockets, ghosts) is seen from the root's.
  d.files.SetView(d.namespaces.View());
  d.fds.SetView(d.namespaces.View());
  d.fds.SetOtherMntNs(false);
  CRYO_TRY(worker.Drain());
  stats.set_memdump_time(static_cast<uint32_t>(NowUs() - t_mem));
  stats.set_memwrite_time(0);
  stats.set_pages_scanned(d.mem.pages_scanned);
  stats.set_pages_skipped_parent(d.mem.pages_skipped_parent);
  stats.set_pages_written(d.mem.pages_written);
  stats.set_pages_lazy(d.mem.pages_lazy);
  if (d.seccomp.seccomp_filters_size() > 0)
    CRYO_TRY(WriteSingleEntryImage(dir, ImageKind::kSeccomp, 0, d.seccomp));
  CRYO_TRY(d.fds.Finish());
  MemfdTable::Counts sh = CRYO_TRY(d.memfds.Write(dir, *d.sink));
  stats.set_shpages_scanned(sh.scanned);
  stats.set_shpages_skipped_parent(0);
  stats.set_shpages_written(sh.written);
  // A page server is done once every pagemap is sent.
  CRYO_TRY(d.sink->Finish(false));
  CRYO_TRY(d.files.Write(dir));
  CRYO_TRY(d.cgroups.Write(dir, log));
  CRYO_TRY(d.namespaces.Write(dir, log));
  {
    // The queues of the tree's own IPC namespace, and those it has open.
    std::set<pid_t> pids;
    for (const auto& t : tasks) pids.insert(t.pid);
    auto in_tree = [&pids](pid_t p) { return pids.count(p) > 0; };
    std::vector<img::posix_mq_entry> queues;
    if (d.namespaces.OwnIpc())
      queues = CRYO_TRY_CTX(ns::DumpMqueues(tasks[0].pid, in_tree, log), "IPC namespace of {}", tasks[0].pid);
    for (const auto& [id, name] : d.fds.mqueue_files())
      CRYO_TRY(ns::AddMqueueFile(queues, d.namespaces.OwnIpc(), name, id, in_tree));
    CRYO_TRY(ns::WriteMqueues(dir, queues));
  }
  {
    ImageWriter w(dir, ImageKind::kPstree);
    for (const auto& pe : pstree) CRYO_TRY(w.Write(pe));
    CRYO_TRY(w.Close());
  }
  const auto& ids = d.ids[0];
  img::inventory_entry inv;
  inv.set_img_version(2);
  inv.set_fdinfo_per_id(true);
  inv.set_ns_per_id(true);
  *inv.mutable_root_ids() = ids;
  inv.set_root_cg_set(cgroups::CgroupDumper::kOwnSet);
  inv.set_lsmtype(img::NO_LSM);
  inv.set_dump_uptime(frozen_uptime);
  if (opts.tcp_close) inv.set_tcp_close(true);
  inv.set_network_lock_method(opts.network_lock == NetworkLock::kNftables ? 1
                              : opts.network_lock == NetworkLock::kSkip   ? 2
                                                                          : 0);
  // Names the network lock; a restore into the same namespace lifts it.
  inv.set_dump_criu_run_id(std::string(run_id));
  CRYO_TRY(WriteInventory(dir, inv));
  d.fds.Complete();
  stats.set_frozen_time(static_cast<uint32_t>(NowUs() - t_frozen));
  return stats;
}

// The tree frozen (all of its cgroup at once with --freeze-cgroup) and
// every task seized.
struct FrozenTree {
  std::optional<cgroups::Freezer> freezer;
  cgroups::FrozenCheck frozen;
  std::optional<SeizedTree> tree;
};

Result<> Freeze(const Options& opts, int cpu, FrozenTree& f, Log& log) {
  // With --freeze-cgroup the whole cgroup stops at once and its threads
  // are held before the tree is walked; without, a task in a frozen cgroup
  // is an error (ptrace alone would wait for it for ever).
  SeizeHelp help;
  if (!opts.freeze_cgroup.empty()) {
    f.freezer.emplace(CRYO_TRY(cgroups::Freezer::FreezeAndSeize(opts.freeze_cgroup, opts.timeout, log)));
    help.held = &f.freezer->held();
  } else {
    help.frozen = &f.frozen;
  }
  // On failure the freezer puts the cgroup back.
  f.tree.emplace(CRYO_TRY(SeizedTree::Seize(opts.pid, log, cpu, help)));
  if (f.freezer) {
    for (const auto& t : f.tree->tasks())
      if (!t.zombie())
        for (pid_t tid : t.live->threads()) f.freezer->TakenOver(tid);
    CRYO_TRY(f.freezer->HoldOthers());
  }
  return {};
}

// What every dump and pre-dump starts with: the images dir, the parent
// images, the pre-dump notice, the tree frozen with cryo pinned to one CPU.
struct Started {
  // The run id the new pages may be relative to: the parent's, unless a
  // page server takes them (the parent's pagemaps are on its side).
  const std::string& relative_to() const { return remote ? none : parent.run_id; }
  bool remote = false;
  std::string none;
  UniqueFd dir;
  ParentImages parent;
  uint32_t next_pages_id = 1;
  std::unique_ptr<PageSink> sink;
  std::optional<ps::Listener> lazy;  // --lazy-pages: where the lazy-pages daemon comes for the pages
  CpuPin pin;
  FrozenTree frozen;
};

Result<> Start(const Options& opts, Notifier* notify, Log& log, Started& s) {
  s.dir = CRYO_TRY(OpenImageDir(opts.images_dir));
  s.parent = CRYO_TRY(OpenParent(s.dir.get(), opts.prev_images_dir));
  // --page-server: connected first, so a server that is not there stops
  // the dump before the tree is touched. With --lazy-pages the dump is the
  // page server: listening first, for the same reason.
  if (opts.lazy_pages) {
    if (opts.ps_socket >= 0) return MakeError(EINVAL, "--lazy-pages: the dump listens itself; --ps-socket is not for it");
    s.lazy.emplace(CRYO_TRY_CTX(ps::Listen(opts.address, opts.port), "--lazy-pages"));
    log.Info("lazy pages: the page server listens on port {}", s.lazy->port);
    s.sink = LocalPageSink(s.dir.get(), &s.next_pages_id);
  } else if (opts.ps_socket >= 0) {
    UniqueFd sock(::fcntl(opts.ps_socket, F_DUPFD_CLOEXEC, 3));
    if (!sock) return ErrnoError("page server socket fd {}", opts.ps_socket);
    s.sink = PageServerSink(std::move(sock));
    s.remote = true;
  } else if (opts.page_server) {
    s.sink = PageServerSink(CRYO_TRY(ConnectPageServer(opts.address, opts.port)));
    s.remote = true;
  } else
    s.sink = LocalPageSink(s.dir.get(), &s.next_pages_id);
  CRYO_TRY(Announce(notify, "pre-dump"));
  return Freeze(opts, s.pin.ok() ? s.pin.cpu() : -1, s.frozen, log);
}

// --lazy-pages: the images are written; the tree, still frozen, is the
// page server's source until the lazy-pages daemon has every page.
Result<> ServeLazyDump(const Options& opts, const SeizedTree& tree, ps::Listener& l, Notifier* notify, Log& log) {
  PidMap pids = CRYO_TRY(PidMap::Build(tree.tasks()));
  std::map<uint32_t, pid_t> host;  // by the pid the images name it by
  for (const auto& t : tree.tasks())
    if (!t.zombie()) host[static_cast<uint32_t>(pids.Dumped(t.pid))] = t.pid;
  std::map<pid_t, RemoteMemory> mems;
  CRYO_TRY(Announce(notify, "status-ready"));
  CRYO_TRY(SignalStatusFd(opts.status_fd));
  CRYO_TRY(ps::ServeLazy(l.fd.get(), [&](uint32_t pid, uint64_t vaddr, uint64_t pages, char* dst) -> Result<> {
    auto h = host.find(pid);
    if (h == host.end()) return MakeError(ESRCH, "no process {} in the dump", pid);
    auto m = mems.find(h->second);
    if (m == mems.end()) m = mems.emplace(h->second, CRYO_TRY(RemoteMemory::Open(h->second))).first;
    return m->second.Read(vaddr, pages * kPageBytes, dst, true);
  }, log));
  return {};
}

// After a dump that succeeded: tracking handed on for the next run, or
// ended. Only a warning when it cannot be: the dump itself is whole.
// --auto-dedup: the parents' copies of the pages this dump wrote are
// freed. Only a warning when they cannot be: the dump is whole.
void AutoDedup(const Options& opts, const Started& s, Log& log) {
  if (!opts.auto_dedup || !s.parent.dir || s.remote) return;
  auto freed = DedupImages(opts.images_dir);
  if (freed)
    log.Info("auto-dedup: {} pages freed in the parent images", *freed);
  else
    log.Warn("auto-dedup: {}", freed.error().what());
}

void FinishTracking(std::optional<MemTracker>& track, bool arm, std::string_view run_id, Log& log) {
  if (!track) return;
  auto r = arm ? track->Commit(std::string(run_id)) : track->End();
  if (!r) log.Warn("memory tracking: {}", r.error().what());
}

}  // namespace

Result<img::dump_stats_entry> Dump(const Options& opts, const KernelFeatures&, Log& log, Notifier* notify) {
  uint64_t t_start = NowUs();
  Started started;
  CRYO_TRY(Start(opts, notify, log, started));
  const UniqueFd& dir = started.dir;
  const ParentImages& parent = started.parent;
  SeizedTree& tree = *started.frozen.tree;
  std::optional<cgroups::Freezer>& freezer = started.frozen.freezer;
  ReleaseMode mode = opts.leave_running   ? ReleaseMode::kResume
                     : opts.leave_stopped ? ReleaseMode::kStop
                                          : ReleaseMode::kKill;
  // Incremental: pages unchanged since the parent images stay there; with
  // --track-mem on a tree that lives on, writes are tracked for the next.
  std::optional<MemTracker> track;
  Incremental inc;
  inc.sink = started.sink.get();
  cpu_set_t worker_cpus;
  if (started.pin.ok()) {
    worker_cpus = ImageWorkerCpus(started.pin.saved(), started.pin.cpu());
    inc.worker_cpus = &worker_cpus;
  }
  if (opts.track_mem || parent.dir) {
    track.emplace(CRYO_TRY(MemTracker::Begin(opts.pid, started.relative_to(), log)));
    inc.track = &*track;
    inc.arm = opts.track_mem && mode != ReleaseMode::kKill;
    inc.parent_dir = parent.dir.get();
  }
  // TCP connections in repair mode: they leave it if the tree runs on,
  // and close without a word to their peers if it is killed.
  RepairedConnections repaired;
  // Network lock (netns/lock.h): from right after the freeze until the
  // tree is resumed or killed; lifted on failure too.
  std::string run_id = netns::NewRunId();
  repaired.SetLock(opts.network_lock, run_id, opts.pid, log);
  netns::NetnsLock net_lock;
  auto stats = [&]() -> Result<img::dump_stats_entry> {
    CRYO_TRY(Announce(notify, "network-lock"));
    net_lock = CRYO_TRY(ns::LockNetwork(tree.tasks()[0].pid, opts, run_id, log));
    CRYO_TRY(Announce(notify, "query-ext-files"));
    auto st = CRYO_TRY(
        DumpTree(opts, tree, dir.get(), log, t_start, freezer ? &*freezer : nullptr, repaired, run_id, inc));
    if (auto r = Announce(notify, "post-dump"); !r) {
      // Refused: the tree runs on, and the images are not a dump.
      ::unlinkat(dir.get(), "inventory.img", 0);
      return std::unexpected(r.error().context("post-dump"));
    }
    if (started.lazy) {
      if (auto r = ServeLazyDump(opts, tree, *started.lazy, notify, log); !r) {
        // The pages never all left: the tree here is still the real one.
        ::unlinkat(dir.get(), "inventory.img", 0);
        return std::unexpected(r.error());
      }
    }
    return st;
  }();
  if (!stats) {
    // The tree goes on as it was (a frozen cgroup frozen again first); the
    // images dir has no inventory, so nobody mistakes it for a dump.
    (void)started.sink->Finish(true);
    if (freezer) (void)freezer->Finish(true);
    repaired.Resume();
    (void)tree.Release(ReleaseMode::kResume);
    (void)Announce(notify, "network-unlock");
    if (auto r = net_lock.Unlock(); !r) log.Error("{}", r.error().what());
    return std::unexpected(stats.error());
  }
  // Tracking is handed on while the tree is still held: no other run can
  // have protected its pages since this one did.
  FinishTracking(track, inc.arm, run_id, log);
  if (freezer) CRYO_TRY(freezer->Finish(mode != ReleaseMode::kKill));
  if (mode != ReleaseMode::kKill) repaired.Resume();
  if (mode == ReleaseMode::kKill && !repaired.empty())
    if (auto r = net_lock.Silence(); !r) log.Warn("{}", r.error().what());
  CRYO_TRY(tree.Release(mode));
  if (mode == ReleaseMode::kKill) repaired.Keep();
  if (mode != ReleaseMode::kKill) CRYO_TRY(Announce(notify, "network-unlock"));
  // Killed: the lock goes with the namespace (or a restore into it lifts it).
  if (mode != ReleaseMode::kKill) CRYO_TRY(net_lock.Unlock());
  net_lock.Keep();
  AutoDedup(opts, started, log);
  log.Info("dumped {} into {}", opts.pid, opts.images_dir);
  return stats;
}

Result<img::dump_stats_entry> PreDump(const Options& opts, const KernelFeatures& kf, Log& log, Notifier* notify) {
  if (!kf.MemTrack())
    return MakeError(EOPNOTSUPP, "pre-dump: this kernel cannot track writes to memory (no PAGEMAP_SCAN with "
                                 "asynchronous userfaultfd write protect)");
  uint64_t t_start = NowUs();
  Started started;
  CRYO_TRY(Start(opts, notify, log, started));
  const UniqueFd& dir = started.dir;
  const ParentImages& parent = started.parent;
  SeizedTree& tree = *started.frozen.tree;
  std::optional<MemTracker> track;
  track.emplace(CRYO_TRY(MemTracker::Begin(opts.pid, started.relative_to(), log)));
  std::string run_id = netns::NewRunId();
  // Memory only: each task's pages, then its tracking armed, all while
  // the tree is frozen; everything else is the final dump's.
  auto stats = [&]() -> Result<img::dump_stats_entry> {
    img::dump_stats_entry st;
    uint64_t t_frozen = NowUs();
    uint64_t uptime = UptimeUs();
    st.set_freezing_time(static_cast<uint32_t>(t_frozen - t_start));
    PidMap pids = CRYO_TRY(PidMap::Build(tree.tasks()));
    MemStats mem;
    for (const auto& t : tree.tasks()) {
      if (t.zombie()) continue;
      if (t.parent >= 0 && SameAs(t.pid, tree.tasks()[static_cast<size_t>(t.parent)].pid, KCMP_VM))
        return MakeError(ENOTSUP, "pid {} shares its memory with its parent (CLONE_VM): not supported", t.pid);
      pid_t vpid = pids.Dumped(t.pid);
      img::mm_entry mm;
      // The mappings name no files here: only their kinds matter.
      CRYO_TRY(DumpVmas(
          t.pid, mm, [](const std::string&, const std::string&, bool) -> Result<uint32_t> { return 0; },
          [](uint64_t, uint64_t, const std::string&) -> Result<uint32_t> { return 0; }));
      ParentCover cover;
      if (track->relative_to_parent()) cover = CRYO_TRY(ReadParentCover(parent.dir.get(), vpid));
      MemStats ms = CRYO_TRY(DumpPages(t.pid, mm, *started.sink, log, vpid,
                                       track->relative_to_parent() ? &cover : nullptr));
      mem.pages_scanned += ms.pages_scanned;
      mem.pages_written += ms.pages_written;
      mem.pages_skipped_parent += ms.pages_skipped_parent;
      CRYO_TRY(track->Arm(t.pid, mm));
    }
    CRYO_TRY(started.sink->Finish(false));
    st.set_memdump_time(static_cast<uint32_t>(NowUs() - t_frozen));
    st.set_memwrite_time(0);
    st.set_pages_scanned(mem.pages_scanned);
    st.set_pages_skipped_parent(mem.pages_skipped_parent);
    st.set_pages_written(mem.pages_written);
    st.set_pages_lazy(0);
    // A pre-dump takes no shared memory: the dump takes it whole.
    st.set_shpages_scanned(0);
    st.set_shpages_skipped_parent(0);
    st.set_shpages_written(0);
    img::inventory_entry inv;
    inv.set_img_version(2);
    inv.set_fdinfo_per_id(true);
    inv.set_ns_per_id(true);
    inv.set_lsmtype(img::NO_LSM);
    inv.set_dump_uptime(uptime);
    inv.set_dump_criu_run_id(run_id);
    CRYO_TRY(WriteInventory(dir.get(), inv));
    st.set_frozen_time(static_cast<uint32_t>(NowUs() - t_frozen));
    return st;
  }();
  auto& freezer = started.frozen.freezer;
  if (!stats) {
    (void)started.sink->Finish(true);
    if (freezer) (void)freezer->Finish(true);
    (void)tree.Release(ReleaseMode::kResume);
    return std::unexpected(stats.error());
  }
  // Handed on while the tree is still held (see Dump).
  auto committed = track->Commit(run_id);
  if (freezer) CRYO_TRY(freezer->Finish(true));
  CRYO_TRY(tree.Release(ReleaseMode::kResume));
  CRYO_TRY_CTX(std::move(committed), "pre-dump");
  AutoDedup(opts, started, log);
  log.Info("pre-dumped the memory of {} into {}", opts.pid, opts.images_dir);
  return stats;
}

}  // namespace cryo
