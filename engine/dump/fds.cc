#include "engine/dump/fds.h"

#include <fcntl.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <unistd.h>


#include "engine/base/files.h"
#include "engine/dump/event_files.h"
#include "engine/dump/file_locks.h"
#include "engine/dump/file_owner.h"
#include "engine/dump/pipe.h"
#include "engine/dump/tun_file.h"
#include "engine/image/image_writer.h"
#include "engine/image/proto/event.pb.h"
#include "engine/ns/mqueue.h"
#include "engine/ns/namespaces.h"
#include "engine/proc/proc.h"

namespace cryo {
namespace {

constexpr std::string_view kDeleted = " (deleted)";

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

// Two fds of one process on the same inode.
bool SameFile(pid_t pid, int a, int b) {
  struct stat sa, sb;
  return ::stat(fmt::format("/proc/{}/fd/{}", pid, a).c_str(), &sa) == 0 &&
         ::stat(fmt::format("/proc/{}/fd/{}", pid, b).c_str(), &sb) == 0 && sa.st_ino == sb.st_ino &&
         sa.st_dev == sb.st_dev;
}

// What a socket is, for an error message.
std::string SocketKind(pid_t pid, int fd) {
  auto sk = TakeTaskFd(pid, fd);
  int domain = -1;
  socklen_t len = sizeof domain;
  if (!sk || ::getsockopt(sk->get(), SOL_SOCKET, SO_DOMAIN, &domain, &len) != 0) return "a socket";
  switch (domain) {
    case AF_NETLINK: return "a netlink socket";
    case AF_INET: return "an IPv4 socket";
    case AF_INET6: return "an IPv6 socket";
    case AF_PACKET: return "a packet socket";
    case AF_UNIX: return "a unix socket of another network namespace";
    default: return fmt::format("a socket of family {}", domain);
  }
}

}  // namespace

void FdDumper::SetNetnsOf(pid_t pid) {
  unix_.SetNetnsOf(pid);
  struct stat st;
  if (::stat(fmt::format("/proc/{}/ns/net", pid).c_str(), &st) == 0) inet_.SetNetns(st.st_ino);
  struct stat mine;
  tun_where_.tree_netns = st.st_ino;
  tun_where_.own_netns = ::stat("/proc/self/ns/net", &mine) == 0 && mine.st_ino != st.st_ino;
  tun_where_.ns_id = ns::kNetId;
}

Result<> FdDumper::PipeData(uint32_t ino, const std::string& proc, bool fifo) {
  if (!pipes_seen_.insert(ino).second) return {};
  PipeContents c = CRYO_TRY(PeekPipe(proc));
  // Empty pipes of the default size need no entry.
  if (c.data.empty() && c.size == 65536) return {};
  Queued q;
  q.entry.set_pipe_id(ino);
  q.entry.set_bytes(static_cast<uint32_t>(c.data.size()));
  q.entry.set_size(c.size);
  q.data = std::move(c.data);
  q.fifo = fifo;
  queued_.push_back(std::move(q));
  return {};
}

// In a tree with its own mount namespace, a file is restored by the path
// the tree sees: the one it was opened by must lead there (a file opened
// before the tree moved into its mounts, like a log of the host's, does
// not). A file of one of the tree's mounts that a later mount hides (the
// path leads to another filesystem, or nowhere) is reopened through its
// mount (reg_file_entry.mnt_id).
Result<> FdDumper::Reachable(pid_t pid, int fd, const std::string& path, const struct stat& st, int mnt_id) const {
  if (view_.empty()) return {};
  struct stat there;
  bool found = ::stat((view_ + path).c_str(), &there) == 0;
  if (found && there.st_dev == st.st_dev && there.st_ino == st.st_ino) return {};
  if (mounts_.count(mnt_id) && (!found || there.st_dev != st.st_dev)) return {};
  return MakeError(ENOTSUP,
                   "pid {} fd {}: {} is on a mount outside the tree's mount namespace: not supported (give the "
                   "tree its files from inside it)",
                   pid, fd, path);
}

Result<uint32_t> FdDumper::DumpFile(pid_t pid, int fd, const std::string& link_in, const struct stat& st,
                                    uint32_t flags, uint64_t pos, int mnt_id, img::fd_types* type) {
  std::string link = link_in;
  std::string proc = fmt::format("/proc/{}/fd/{}", pid, fd);
  auto ino = static_cast<uint32_t>(st.st_ino);
  if (link.starts_with("pipe:[")) {
    *type = img::PIPE;
    CRYO_TRY_CTX(PipeData(ino, proc, false), "pid {} fd {}", pid, fd);
    uint32_t id = files_.NextId();
    img::file_entry fe;
    fe.set_type(img::PIPE);
    fe.set_id(id);
    auto* p = fe.mutable_pipe();
    p->set_id(id);
    p->set_pipe_id(ino);
    p->set_flags(flags);
    NoOwner(p->mutable_fown());
    files_.Add(std::move(fe));
    return id;
  }
  if (link.starts_with("socket:[") && CRYO_TRY(unix_.IsUnix(ino))) {
    *type = img::UNIXSK;
    // Restore binds every socket in the root's mount namespace.
    if (other_mnt_ns_)
      if (std::string name = CRYO_TRY(unix_.PathName(ino)); !name.empty())
        return MakeError(ENOTSUP, "pid {} fd {}: unix socket bound to {} in a mount namespace other than the root's: "
                         "not supported", pid, fd, name);
    return CRYO_TRY_CTX(unix_.Dump(pid, fd, ino, flags, files_, [this](int ours) { return InFlight(ours); }),
                        "unix socket");
  }
  if (link.starts_with("socket:[")) {
    UniqueFd sk = CRYO_TRY(TakeTaskFd(pid, fd));
    if (InetSockets::Family(sk.get()) != 0) {
      *type = img::INETSK;
      uint32_t id = files_.NextId();
      files_.Add(CRYO_TRY(inet_.Dump(pid, fd, std::move(sk), id, ino, flags)));
      return id;
    }
  }
  // Anonymous-inode files whose state fdinfo shows.
  using Parser = Result<img::file_entry> (*)(uint32_t, uint32_t, std::string_view);
  static const std::pair<std::string_view, Parser> kAnon[] = {
      {"anon_inode:[eventfd]", EventfdEntry},
      {"anon_inode:[signalfd]", SignalfdEntry},
      {"anon_inode:[timerfd]", TimerfdEntry},
      {"anon_inode:[eventpoll]", EpollEntry},
  };
  if (link == "anon_inode:inotify") {
    // Queued events cannot be read without taking them away.
    UniqueFd ours = CRYO_TRY_CTX(TakeTaskFd(pid, fd), "inotify");
    int queued = 0;
    if (::ioctl(ours.get(), FIONREAD, &queued) != 0) return ErrnoError("pid {} fd {}: inotify", pid, fd);
    if (queued > 0)
      return MakeError(ENOTSUP, "pid {} fd {}: inotify holds {} bytes of unread events: not supported", pid, fd, queued);
    std::string info = CRYO_TRY(ReadFile(fmt::format("/proc/{}/fdinfo/{}", pid, fd)));
    uint32_t id = files_.NextId();
    img::file_entry fe = CRYO_TRY_CTX(InotifyEntry(id, flags, info), "pid {} fd {}", pid, fd);
    std::string mounts = CRYO_TRY(ReadFile(fmt::format("/proc/{}/mountinfo", pid)));
    CRYO_TRY_CTX(ResolveWatches(fe, mounts, view_), "pid {} fd {}", pid, fd);
    *type = img::INOTIFY;
    files_.Add(std::move(fe));
    return id;
  }
  bool pidfd = link == "anon_inode:[pidfd]";
  for (const auto& [name, parse] : kAnon) {
    if (link != name && !pidfd) continue;
    std::string info = CRYO_TRY(ReadFile(fmt::format("/proc/{}/fdinfo/{}", pid, fd)));
    uint32_t id = files_.NextId();
    img::file_entry fe = pidfd ? CRYO_TRY_CTX(PidfdEntry(id, flags, st.st_ino, info), "pid {} fd {}", pid, fd)
                               : CRYO_TRY_CTX(parse(id, flags, info), "pid {} fd {} ({})", pid, fd, link);
    if (pidfd && pids_ && pids_->own_ns()) {
      // The process it refers to, by its pid in the tree's namespace.
      pid_t target = pids_->Dumped(fe.pidfd().nspid());
      if (target == 0)
        return MakeError(ENOTSUP, "pid {} fd {}: a pidfd of a process outside the tree's pid namespace", pid, fd);
      fe.mutable_pidfd()->set_nspid(target);
    }
    *type = fe.type();
    files_.Add(std::move(fe));
    return id;
  }
  if (S_ISFIFO(st.st_mode) && link.starts_with("/")) {
    if (link.ends_with(kDeleted))
      return MakeError(ENOTSUP, "pid {} fd {}: FIFO {} was unlinked: not supported", pid, fd, link);
    CRYO_TRY(Reachable(pid, fd, link, st, -1));
    *type = img::FIFO;
    CRYO_TRY_CTX(PipeData(ino, proc, true), "pid {} fd {}", pid, fd);
    uint32_t regf = files_.AddReg(link, flags, 0, st);
    uint32_t id = files_.NextId();
    img::file_entry fe;
    fe.set_type(img::FIFO);
    fe.set_id(id);
    auto* f = fe.mutable_fifo();
    f->set_id(id);
    f->set_pipe_id(ino);
    f->set_regf_id(regf);
    files_.Add(std::move(fe));
    return id;
  }
  if (S_ISREG(st.st_mode) && mqueue_devs_.count(st.st_dev)) {
    // As a regular file by the queue's name, opened again by mq_open
    // (posix-mq.img says which files are queues).
    if (link.ends_with(kDeleted))
      return MakeError(ENOTSUP, "pid {} fd {}: POSIX message queue {} was unlinked while open: not supported", pid, fd,
                       link.substr(0, link.size() - kDeleted.size()));
    *type = img::REG;
    std::string name = ns::QueueName(link);
    uint32_t id = files_.AddReg(name, flags, 0, st);
    mqueue_files_.emplace_back(id, name);
    return id;
  }
  bool memfd = S_ISREG(st.st_mode) && (link.starts_with("/memfd:") || link.starts_with("memfd:"));
  if (memfd) {
    *type = img::MEMFD;
    uint32_t inode = CRYO_TRY(memfds_.Inode(proc, link));
    return files_.AddMemfd(inode, flags, pos);
  }
  bool ghost = S_ISREG(st.st_mode) && st.st_nlink == 0 && link.ends_with(kDeleted) && link.starts_with("/");
  if (ghost) link.resize(link.size() - kDeleted.size());
  bool by_path = link.starts_with("/") && (S_ISREG(st.st_mode) || S_ISDIR(st.st_mode) || S_ISCHR(st.st_mode));
  if (!by_path || (!ghost && link.ends_with(kDeleted))) {
    std::string kind = link.starts_with("socket:[")      ? SocketKind(pid, fd)
                       : link.starts_with("anon_inode:") ? link.substr(11)
                                                         : link;
    return MakeError(ENOTSUP, "pid {} fd {}: {} ({}) is not supported by this build yet", pid, fd, kind, link);
  }
  if (S_ISCHR(st.st_mode) && (Ptys::IsMaster(st.st_rdev) || ptys_.IsTreeSlave(st.st_rdev))) {
    *type = img::TTY;
    return ptys_.Dump(pid, fd, st.st_rdev, flags, files_);
  }
  if (IsTunFile(st)) {
    // As CRIU: the path and flags as a regular file, the device by the same id.
    UniqueFd ours = CRYO_TRY(TakeTaskFd(pid, fd));
    uint32_t id = files_.AddReg(link, flags, pos, st);
    files_.Add(CRYO_TRY(TunFileEntry(pid, fd, ours.get(), id, tun_where_)));
    *type = img::TUNF;
    return id;
  }
  // A device keeps no state of its own only if it is one of the memory
  // devices (null, zero, full, random, urandom) or a terminal (below):
  // anything else (tun, kvm, a loop device, ...) would come back empty.
  if (S_ISCHR(st.st_mode)) {
    unsigned maj = major(st.st_rdev), min = minor(st.st_rdev);
    bool stateless = maj == 1 && (min == 3 || min == 5 || min == 7 || min == 8 || min == 9);
    bool terminal = link.starts_with("/dev/pts/") || link.starts_with("/dev/tty");
    if (!stateless && !terminal)
      return MakeError(ENOTSUP, "pid {} fd {}: device {} ({}:{}) is not supported by this build yet", pid, fd, link,
                       maj, min);
  }
  // A terminal outside the dump (the shell's) is reopened by path on
  // restore, with --shell-job only, as CRIU does.
  if (S_ISCHR(st.st_mode) && (link.starts_with("/dev/pts/") || link.starts_with("/dev/tty")) && !opts_.shell_job)
    return MakeError(ENOTSUP, "pid {} fd {}: terminal {} belongs to a shell job: dump with --shell-job", pid, fd, link);
  if (!ghost) CRYO_TRY(Reachable(pid, fd, link, st, mnt_id));
  // An unlinked file is made anew from its ghost image; a second open of
  // the same inode (another namespace's copy of its mount) shares it only
  // by the same path: by another one it would come back as another file.
  if (ghost) {
    auto [seen, first] = ghosts_seen_.emplace(std::make_pair(st.st_dev, st.st_ino),
                                              std::make_pair(link, fmt::format("pid {} fd {}", pid, fd)));
    if (!first && seen->second.first != link)
      return MakeError(ENOTSUP, "pid {} fd {}: unlinked file {} is opened separately as {} ({}) too: not supported", pid,
                       fd, link, seen->second.second, seen->second.first);
  }
  *type = img::REG;
  uint32_t id = files_.AddReg(link, flags, pos, st, mounts_.count(mnt_id) ? mnt_id : -1);
  if (ghost) {
    img::remap_file_path_entry remap;
    CRYO_TRY(DumpGhost(pid, fd, id, st, opts_, dir_, &remap));
    remaps_.push_back(remap);
  }
  return id;
}

Result<uint32_t> FdDumper::InFlight(int ours) {
  pid_t self = ::getpid();
  std::string proc = fmt::format("/proc/{}/fd/{}", self, ours);
  std::string link = CRYO_TRY(ReadLink(proc));
  std::string fdinfo = CRYO_TRY(ReadFile(fmt::format("/proc/{}/fdinfo/{}", self, ours)));
  FdInfo fi = CRYO_TRY(ParseFdInfo(fdinfo));
  struct stat st;
  if (::stat(proc.c_str(), &st) != 0) return ErrnoError("stat {}", proc);
  if (auto k = files_.Known(self, ours, st)) return *k;
  img::fd_types type = img::UND;
  uint32_t id = CRYO_TRY(DumpFile(self, ours, link, st, fi.flags & ~static_cast<uint32_t>(O_CLOEXEC), fi.pos, fi.mnt_id, &type));
  files_.Remember(self, ours, st, id, type);
  in_flight_.insert(id);
  return id;
}

Result<> FdDumper::DumpOwner(int pidfd, pid_t pid, int fd, uint32_t id) {
  UniqueFd ours = CRYO_TRY(TakeFdFrom(pidfd, pid, fd));
  img::fown_entry f = CRYO_TRY_CTX(ReadFileOwner(ours.get()), "owner of pid {} fd {}", pid, fd);
  if (f.pid() == 0 && f.signum() == 0) return {};
  if (f.pid() != 0) {
    pid_t dumped = owner_of_ ? owner_of_(static_cast<int>(f.pid_type()), static_cast<pid_t>(f.pid())) : 0;
    if (dumped == 0) {
      // Gone, or outside: after a restore that pid may be anybody's.
      if (log_)
        log_->Warn("pid {} fd {}: its SIGIO owner {} is not in the tree: the owner is not kept", pid, fd, f.pid());
      f.set_pid(0);
      f.set_pid_type(0);
      f.set_uid(0);
      f.set_euid(0);
    } else {
      f.set_pid(static_cast<uint32_t>(dumped));
    }
  }
  files_.SetOwner(id, f);
  return {};
}

Result<> FdDumper::DumpTable(pid_t pid, uint32_t files_id) {
  ImageWriter w(dir_, ImageKind::kFdinfo, files_id);
  UniqueFd pidfd = CRYO_TRY(OpenPidfd(pid));
  for (int fd : ListFds(pid)) {
    std::string proc = fmt::format("/proc/{}/fd/{}", pid, fd);
    std::string link = CRYO_TRY(ReadLink(proc));
    std::string fdinfo = CRYO_TRY(ReadFile(fmt::format("/proc/{}/fdinfo/{}", pid, fd)));
    FdInfo fi = CRYO_TRY_CTX(ParseFdInfo(fdinfo), "pid {} fd {}", pid, fd);
    struct stat st;
    if (::stat(proc.c_str(), &st) != 0) return ErrnoError("stat pid {} fd {}", pid, fd);
    uint32_t flags = fi.flags & ~static_cast<uint32_t>(O_CLOEXEC);
    img::fd_types type = img::UND;
    // dup'ed and inherited fds share one file description: one entry.
    uint32_t id = 0;
    bool known = false;
    if (auto k = files_.Known(pid, fd, st)) {
      id = *k;
      type = files_.TypeOf(id);
      known = true;
    } else {
      id = CRYO_TRY(DumpFile(pid, fd, link, st, flags, fi.pos, fi.mnt_id, &type));
      files_.Remember(pid, fd, st, id, type);
      // An O_PATH fd has no owner (and cannot be taken).
      if (!(flags & O_PATH)) CRYO_TRY(DumpOwner(pidfd.get(), pid, fd, id));
    }
    if (fdinfo.find("\nlock:") != std::string::npos) {
      if (!opts_.file_locks)
        return MakeError(ENOTSUP, "pid {} fd {}: {} is locked: dump with --file-locks", pid, fd, link);
      for (auto& l : CRYO_TRY(ParseFdLocks(fdinfo, pid, fd))) {
        if (pids_) l.set_pid(pids_->Dumped(pid));
        // flock and OFD locks belong to the description: taken once.
        if (l.flag() != kLockPosix && known) continue;
        bool dup = false;
        for (const auto& o : locks_)
          dup |= o.flag() == kLockPosix && l.flag() == kLockPosix && o.pid() == l.pid() && o.start() == l.start() &&
                 o.len() == l.len() && o.type() == l.type() && files_.TypeOf(id) == img::REG && o.fd() != l.fd() &&
                 SameFile(pid, o.fd(), fd);
        if (!dup) locks_.push_back(std::move(l));
      }
    }
    img::fdinfo_entry e;
    e.set_id(id);
    e.set_flags((fi.flags & O_CLOEXEC) ? FD_CLOEXEC : 0);
    e.set_type(type);
    e.set_fd(static_cast<uint32_t>(fd));
    CRYO_TRY(w.Write(e));
  }
  return w.Close();
}

Result<> FdDumper::Finish() {
  CRYO_TRY(unix_.Finish(dir_, files_));
  CRYO_TRY(ptys_.Write(dir_));
  {
    ImageWriter w(dir_, ImageKind::kFileLocks);
    for (const auto& l : locks_) CRYO_TRY(w.Write(l));
    CRYO_TRY(w.Close());
  }
  {
    ImageWriter w(dir_, ImageKind::kRemapFpath);
    for (const auto& r : remaps_) CRYO_TRY(w.Write(r));
    CRYO_TRY(w.Close());
  }
  for (bool fifo : {false, true}) {
    ImageWriter w(dir_, fifo ? ImageKind::kFifoData : ImageKind::kPipesData);
    for (const auto& q : queued_) {
      if (q.fifo != fifo) continue;
      CRYO_TRY(w.Write(q.entry));
      CRYO_TRY(w.WriteRaw(std::string_view(q.data)));
    }
    CRYO_TRY(w.Close());
  }
  return {};
}

}  // namespace cryo
