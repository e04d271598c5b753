#include "engine/restore/image_set.h"

#include <fcntl.h>

#include <limits.h>
#include <stdlib.h>
#include <unistd.h>

#include <set>

#include "engine/image/image_dir.h"
#include "engine/image/image_reader.h"
#include "engine/mem/pagemap_flags.h"
#include "engine/ns/mqueue.h"
#include "engine/restore/file_owner.h"

namespace cryo {
namespace {

constexpr size_t kMaxTasks = 1 << 16;
constexpr uint32_t kMaxPipeBytes = 1 << 24;

Result<> ReadTask(int d, PageChain& chain, bool lazy, TaskImages& t) {
  uint32_t pid = t.task.pid();
  if (t.task.threads_size() == 0) return MakeError(0, "pstree.img: process {} has no threads", pid);
  for (uint32_t tid : t.task.threads()) {
    img::core_entry c;
    CRYO_TRY(ReadSingleEntryImage(d, ImageKind::kCore, tid, c));
    if (c.mtype() != img::core_entry::X86_64) return MakeError(0, "core-{}.img: not an x86-64 thread", tid);
    t.cores.push_back(std::move(c));
  }
  if (!t.cores[0].has_tc()) return MakeError(0, "core-{}.img: no task state", pid);
  if (t.cores[0].tc().task_state() == 2) {
    t.zombie = true;
    if (t.task.threads_size() != 1) return MakeError(0, "pstree.img: zombie {} has threads", pid);
    return {};
  }
  for (size_t i = 0; i < t.cores.size(); i++)
    if (!t.cores[i].has_thread_info()) return MakeError(0, "core-{}.img: no registers", t.task.threads(static_cast<int>(i)));
  CRYO_TRY(ReadSingleEntryImage(d, ImageKind::kIds, pid, t.ids));
  CRYO_TRY(ReadSingleEntryImage(d, ImageKind::kMm, pid, t.mm));
  CRYO_TRY(ReadSingleEntryImage(d, ImageKind::kFs, pid, t.fs));
  ImageReader pm = CRYO_TRY(ImageReader::Open(d, ImageKind::kPagemap, pid));
  img::pagemap_head head;
  std::vector<img::pagemap_entry> pagemap;
  if (CRYO_TRY(pm.Next(head))) {
    img::pagemap_entry e;
    while (CRYO_TRY(pm.Next(e))) pagemap.push_back(e);
  }
  if (!lazy) {
    t.pages = CRYO_TRY(chain.Resolve(pid, head.pages_id(), pagemap));
    return {};
  }
  std::vector<PageRun> all = EntryRuns(pagemap), ranges = LazyRanges(t.mm);
  std::vector<PageRun> eager = Subtract(all, ranges);
  t.pages = CRYO_TRY(chain.Resolve(pid, head.pages_id(), pagemap, &eager));
  t.pages.lazy = Intersect(all, ranges);
  return {};
}

// pipes-data.img / fifo-data.img: entries, each followed by its bytes.
Result<> ReadPipeData(int d, ImageKind kind, std::map<uint32_t, PipeData>& out) {
  ImageReader r = CRYO_TRY(ImageReader::Open(d, kind));
  PipeData pd;
  while (CRYO_TRY(r.Next(pd.entry))) {
    if (pd.entry.bytes() > kMaxPipeBytes || (pd.entry.has_size() && pd.entry.bytes() > pd.entry.size()))
      return MakeError(0, "{}: pipe {} holds {} bytes in a buffer of {}", r.name(), pd.entry.pipe_id(),
                       pd.entry.bytes(), pd.entry.size());
    pd.data = CRYO_TRY(r.ReadPayload(pd.entry.bytes()));
    out[pd.entry.pipe_id()] = pd;
  }
  return {};
}

}  // namespace

Result<const img::reg_file_entry*> ImageSet::File(uint32_t id) const {
  auto it = files.find(id);
  if (it == files.end()) return MakeError(0, "files.img has no file {}", id);
  return &it->second;
}

uint32_t OpenFlags(uint32_t dumped) {
  uint32_t flags = dumped & ~static_cast<uint32_t>(O_CREAT | O_TRUNC | O_EXCL);
  // O_TMPFILE holds O_DIRECTORY: the file it made is none.
  if ((flags & O_TMPFILE) == O_TMPFILE) flags &= ~static_cast<uint32_t>(O_TMPFILE);
  return flags;
}

Result<ImageSet> ReadImageSet(const std::string& path, bool lazy) {
  ImageSet s;
  char real[PATH_MAX];
  if (::realpath(path.c_str(), real) == nullptr) return ErrnoError("images directory {}", path);
  s.dir_path = real;
  s.dir = CRYO_TRY(OpenImageDir(s.dir_path));
  int d = s.dir.get();
  auto inv = ReadSingleEntryImage(d, ImageKind::kInventory, 0, s.inventory);
  if (!inv) return MakeError(0, "{} holds no complete dump: {}", path, inv.error().message());
  if (s.inventory.img_version() != 2)
    return MakeError(0, "inventory.img: image version {} (want 2)", s.inventory.img_version());

  // The tree: every parent listed before its children, pids unique.
  if (::faccessat(d, ImageFileName(ImageKind::kPstree).c_str(), F_OK, 0) != 0 && errno == ENOENT)
    return MakeError(ENOENT, "{} holds a pre-dump (memory only): restore the dump made after it", path);
  ImageReader ps = CRYO_TRY(ImageReader::Open(d, ImageKind::kPstree));
  std::map<uint32_t, int> index;
  std::set<uint32_t> tids;
  img::pstree_entry pe;
  while (CRYO_TRY(ps.Next(pe))) {
    if (s.tasks.size() >= kMaxTasks) return MakeError(0, "pstree.img: more than {} processes", kMaxTasks);
    TaskImages t;
    t.task = pe;
    if (!s.tasks.empty()) {
      auto it = index.find(pe.ppid());
      if (it == index.end())
        return MakeError(0, "pstree.img: process {} comes before its parent {}", pe.pid(), pe.ppid());
      t.parent = it->second;
    }
    if (pe.pid() == 0 || !index.emplace(pe.pid(), static_cast<int>(s.tasks.size())).second)
      return MakeError(0, "pstree.img: pid {} is listed twice (or is 0)", pe.pid());
    for (uint32_t tid : pe.threads())
      if (!tids.insert(tid).second) return MakeError(0, "pstree.img: thread {} is listed twice", tid);
    s.tasks.push_back(std::move(t));
  }
  if (s.tasks.empty()) return MakeError(0, "pstree.img is missing or empty");
  PageChain chain(s.dir_path);
  for (auto& t : s.tasks) CRYO_TRY(ReadTask(d, chain, lazy, t));
  if (s.tasks[0].zombie) return MakeError(0, "pstree.img: the root {} is a zombie", s.tasks[0].task.pid());
  for (const auto& t : s.tasks)
    if (t.parent >= 0 && s.tasks[static_cast<size_t>(t.parent)].zombie)
      return MakeError(0, "pstree.img: zombie {} has a child {}", s.tasks[static_cast<size_t>(t.parent)].task.pid(),
                       t.task.pid());

  ImageReader files = CRYO_TRY(ImageReader::Open(d, ImageKind::kFiles));
  img::file_entry fe;
  while (CRYO_TRY(files.Next(fe))) {
    // A tun file comes as CRIU writes it: its path first, then the device, by one id.
    bool tun_of_reg = fe.type() == img::TUNF && s.kinds.count(fe.id()) && s.kinds[fe.id()] == img::REG;
    if (s.kinds.count(fe.id()) && !tun_of_reg) return MakeError(0, "files.img: file {} is listed twice", fe.id());
    s.kinds[fe.id()] = fe.type();
    if (auto owner = EntryOwner(fe)) s.owners[fe.id()] = *owner;
    if (auto async = EntryAsyncFlags(fe)) s.async_flags[fe.id()] = *async;
    if (fe.type() == img::MEMFD && fe.has_memfd()) {
      s.memfd_files[fe.id()] = fe.memfd();
    } else if (fe.type() == img::REG && fe.has_reg()) {
      s.files[fe.id()] = fe.reg();
    } else if (fe.type() == img::NS && fe.has_nsf()) {
      s.ns_files[fe.id()] = fe.nsf();
    } else if (fe.type() == img::PIPE && fe.has_pipe()) {
      s.pipes[fe.id()] = fe.pipe();
    } else if (fe.type() == img::FIFO && fe.has_fifo()) {
      s.fifos[fe.id()] = fe.fifo();
    } else if (fe.type() == img::TTY && fe.has_tty()) {
      s.ttys[fe.id()] = fe.tty();
    } else if (fe.type() == img::UNIXSK && fe.has_usk()) {
      s.unix_sks[fe.id()] = fe.usk();
    } else if (fe.type() == img::INETSK && fe.has_isk()) {
      s.inet_sks[fe.id()] = fe.isk();
    } else if (fe.type() == img::NETLINKSK && fe.has_nlsk()) {
      s.netlink_sks[fe.id()] = fe.nlsk();
    } else if (fe.type() == img::PACKETSK && fe.has_psk()) {
      s.packet_sks[fe.id()] = fe.psk();
    } else if (tun_of_reg && fe.has_tunf()) {
      s.tuns[fe.id()] = fe.tunf();
    } else if ((fe.type() == img::EVENTFD && fe.has_efd()) || (fe.type() == img::SIGNALFD && fe.has_sgfd()) ||
               (fe.type() == img::TIMERFD && fe.has_tfd()) || (fe.type() == img::EVENTPOLL && fe.has_epfd()) ||
               (fe.type() == img::PIDFD && fe.has_pidfd()) || (fe.type() == img::INOTIFY && fe.has_ify())) {
      s.event_files[fe.id()] = fe;
    } else {
      return MakeError(ENOTSUP, "files.img: file {} of kind {} is not supported by this build yet", fe.id(),
                       img::fd_types_Name(fe.type()));
    }
  }
  for (const auto& [id, f] : s.fifos) {
    if (!f.has_regf_id() || !s.files.count(f.regf_id()))
      return MakeError(0, "files.img: FIFO {} has no path (regf {})", id, f.regf_id());
    // A FIFO's owner is its path's.
    if (auto o = s.owners.find(f.regf_id()); o != s.owners.end()) s.owners[id] = o->second;
    if (auto a = s.async_flags.find(f.regf_id()); a != s.async_flags.end()) s.async_flags[id] = a->second;
  }
  for (const auto& q : CRYO_TRY(ns::ReadMqueues(d)))
    for (uint32_t id : q.file_ids()) {
      auto f = s.files.find(id);
      if (f == s.files.end() || f->second.name() != q.name())
        return MakeError(EINVAL, "posix-mq.img: queue {} names file {}, not a regular file of that name", q.name(), id);
      s.mqueues.insert(id);
    }
  {
    ImageReader mi = CRYO_TRY(ImageReader::Open(d, ImageKind::kMemfdInode));
    img::memfd_inode_entry e;
    while (CRYO_TRY(mi.Next(e))) s.memfd_inodes[e.inode_id()] = e;
  }
  for (const auto& [id, f] : s.memfd_files)
    if (!s.memfd_inodes.count(f.inode_id())) return MakeError(0, "memfd.img has no inode {}", f.inode_id());

  // fd tables, one per files_id, read for the first task that has it.
  std::set<uint32_t> tables;
  for (auto& t : s.tasks) {
    if (t.zombie) continue;
    if (!tables.insert(t.ids.files_id()).second) {
      t.owns_files = false;
      continue;
    }
    ImageReader fdinfo = CRYO_TRY(ImageReader::Open(d, ImageKind::kFdinfo, t.ids.files_id()));
    img::fdinfo_entry fi;
    std::set<uint32_t> here;
    while (CRYO_TRY(fdinfo.Next(fi))) {
      if (here.insert(fi.id()).second) s.tables_using[fi.id()]++;
      auto k = s.kinds.find(fi.id());
      if (k == s.kinds.end()) return MakeError(0, "{}: fd {} refers to file {}, not in files.img", fdinfo.name(), fi.fd(), fi.id());
      if (k->second != fi.type())
        return MakeError(0, "{}: fd {} is of kind {}, but file {} is {}", fdinfo.name(), fi.fd(),
                         img::fd_types_Name(fi.type()), fi.id(), img::fd_types_Name(k->second));
      t.fds.push_back(fi);
    }
  }
  for (const auto& t : s.tasks) {
    if (t.zombie) continue;
    CRYO_TRY(s.File(t.fs.cwd_id()));
    CRYO_TRY(s.File(t.fs.root_id()));
    CRYO_TRY(s.File(t.mm.exe_file_id()));
  }
  {
    ImageReader rm = CRYO_TRY(ImageReader::Open(d, ImageKind::kRemapFpath));
    img::remap_file_path_entry e;
    while (CRYO_TRY(rm.Next(e))) {
      CRYO_TRY(s.File(e.orig_id()));
      if (e.remap_type() == img::GHOST) {
        s.ghosts[e.orig_id()] = e.remap_id();
      } else if (e.remap_type() == img::LINKED) {
        CRYO_TRY(s.File(e.remap_id()));
        s.links[e.orig_id()] = e.remap_id();
      } else if (e.remap_type() == img::PROCFS) {
        if (e.remap_id() == 0 || e.remap_id() > (1u << 22))
          return MakeError(EINVAL, "remap-fpath.img: file {}: pid {}", e.orig_id(), e.remap_id());
        s.dead_procs[e.orig_id()] = static_cast<pid_t>(e.remap_id());
      } else {
        return MakeError(ENOTSUP, "remap-fpath.img: remap type {} is not supported by this build yet",
                         img::remap_type_Name(e.remap_type()));
      }
    }
  }
  {
    ImageReader q = CRYO_TRY(ImageReader::Open(d, ImageKind::kSkQueues));
    img::sk_packet_entry e;
    while (CRYO_TRY(q.Next(e))) {
      if (!s.unix_sks.count(e.id_for()))
        return MakeError(0, "{}: packet for socket {}, not a unix socket of files.img", q.name(), e.id_for());
      if (e.length() > kMaxPipeBytes) return MakeError(0, "{}: packet of {} bytes", q.name(), e.length());
      ImageSet::Packet p;
      for (const auto& scm : e.scm()) {
        if (scm.type() != 1 /* SCM_RIGHTS */)
          return MakeError(ENOTSUP, "{}: control message of type {} is not supported", q.name(), scm.type());
        for (uint32_t r : scm.rights()) {
          if (!s.kinds.count(r)) return MakeError(0, "{}: file {} in flight is not in files.img", q.name(), r);
          p.rights.push_back(r);
          s.in_flight.insert(r);
        }
      }
      if (p.rights.size() > 253) return MakeError(0, "{}: {} files on one packet", q.name(), p.rights.size());
      p.data = CRYO_TRY(q.ReadPayload(e.length()));
      s.sk_queues[e.id_for()].push_back(std::move(p));
    }
  }
  {
    ImageReader fl = CRYO_TRY(ImageReader::Open(d, ImageKind::kFileLocks));
    img::file_lock_entry e;
    while (CRYO_TRY(fl.Next(e))) {
      if (!tids.count(static_cast<uint32_t>(e.pid())))
        return MakeError(0, "{}: lock of pid {}, not in the dump", fl.name(), e.pid());
      s.locks.push_back(e);
    }
  }
  {
    ImageReader ti = CRYO_TRY(ImageReader::Open(d, ImageKind::kTtyInfo));
    img::tty_info_entry e;
    while (CRYO_TRY(ti.Next(e))) {
      // No termios nor window size: a hung-up slave (as CRIU records one).
      bool hung = !e.has_termios() && !e.has_winsize() && e.rdev() != ((5u << 20) | 2u);
      if (e.type() != img::PTY || !e.has_pty() || (!hung && (!e.has_termios() || !e.has_winsize())))
        return MakeError(ENOTSUP, "{}: tty {} of type {} is not supported", ti.name(), e.id(), img::TtyType_Name(e.type()));
      if (e.pty().index() >= (1u << 20)) return MakeError(0, "{}: pty index {}", ti.name(), e.pty().index());
      s.tty_infos[e.id()] = e;
    }
    ImageReader td = CRYO_TRY(ImageReader::Open(d, ImageKind::kTtyData));
    img::tty_data_entry de;
    while (CRYO_TRY(td.Next(de))) {
      if (!s.tty_infos.count(de.tty_id())) return MakeError(0, "{}: data for tty {}, not in tty-info.img", td.name(), de.tty_id());
      s.tty_data[de.tty_id()] = de.data();
    }
    for (const auto& [id, t] : s.ttys)
      if (!s.tty_infos.count(t.tty_info_id())) return MakeError(0, "files.img: tty {} has no tty-info {}", id, t.tty_info_id());
  }
  CRYO_TRY(ReadPipeData(d, ImageKind::kPipesData, s.pipe_data));
  CRYO_TRY(ReadPipeData(d, ImageKind::kFifoData, s.fifo_data));
  {
    ImageReader sc = CRYO_TRY(ImageReader::Open(d, ImageKind::kSeccomp));
    if (sc.present() && !CRYO_TRY(sc.Next(s.seccomp))) return MakeError(0, "seccomp.img holds no entry");
  }
  for (const auto& t : s.tasks) {
    for (const auto& c : t.cores) {
      const auto& th = c.thread_core();
      if (th.seccomp_mode() == img::filter &&
          th.seccomp_filter() >= static_cast<uint32_t>(s.seccomp.seccomp_filters_size()))
        return MakeError(0, "a thread's seccomp filter {} is not in seccomp.img", th.seccomp_filter());
    }
  }
  return s;
}

}  // namespace cryo
