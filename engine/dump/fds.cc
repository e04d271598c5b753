#include "engine/dump/fds.h"

#include <fcntl.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <optional>


#include "engine/base/files.h"
#include "engine/dump/epoll_targets.h"
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

struct NsKind {
  const char* name;
  uint32_t cflag, ns_id;
};

// A namespace file's link is "net:[4026531840]".
std::optional<NsKind> NsFileKind(std::string_view link) {
  static constexpr NsKind kKinds[] = {
      {"net", CLONE_NEWNET, ns::kNetId},   {"uts", CLONE_NEWUTS, ns::kUtsId},   {"ipc", CLONE_NEWIPC, ns::kIpcId},
      {"pid", CLONE_NEWPID, ns::kPidId},   {"mnt", CLONE_NEWNS, ns::kMntId},    {"time", CLONE_NEWTIME, ns::kTimeId},
      {"user", CLONE_NEWUSER, ns::kUserId}, {"cgroup", CLONE_NEWCGROUP, 0},
  };
  for (const auto& k : kKinds) {
    std::string_view name = k.name;
    if (link.size() > name.size() + 3 && link.starts_with(name) && link.substr(name.size(), 2) == ":[" &&
        link.back() == ']')
      return k;
  }
  return std::nullopt;
}

// An fd on a namespace: restored as the task's own namespace of that kind,
// so it must be the one the task is in (the tree's). A user namespace only
// when it is cryo's too: the tasks enter the tree's after their files.
Result<img::file_entry> NsFile(pid_t pid, int fd, uint32_t id, uint32_t flags, const struct stat& st, NsKind k) {
  struct stat own, mine;
  if (::stat(fmt::format("/proc/{}/ns/{}", pid, k.name).c_str(), &own) != 0)
    return ErrnoError("pid {} fd {}: stat its {} namespace", pid, fd, k.name);
  if (own.st_ino != st.st_ino)
    return MakeError(ENOTSUP, "pid {} fd {}: a file of a {} namespace the process is not in: not supported", pid, fd,
                     k.name);
  if (k.cflag == CLONE_NEWUSER && (::stat("/proc/self/ns/user", &mine) != 0 || mine.st_ino != st.st_ino))
    return MakeError(ENOTSUP, "pid {} fd {}: a file of the tree's own user namespace: not supported", pid, fd);
  img::file_entry fe;
  fe.set_type(img::NS);
  fe.set_id(id);
  auto* n = fe.mutable_nsf();
  n->set_id(id);
  n->set_ns_id(k.ns_id);
  n->set_ns_cflag(k.cflag);
  n->set_flags(flags);
  return fe;
}

}  // namespace

void FdDumper::SetNetnsOf(pid_t pid) {
  unix_.SetNetnsOf(pid);
  netlink_.SetNetnsOf(pid);
  packet_.SetNetnsOf(pid);
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
  std::string at = view_ + path;
  bool found = (S_ISLNK(st.st_mode) ? ::lstat(at.c_str(), &there) : ::stat(at.c_str(), &there)) == 0;
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
    return CRYO_TRY_CTX(unix_.Dump(pid, fd, ino, flags, files_, [this, pid](int ours) { return InFlight(ours, pid); }),
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
    int domain = 0;
    socklen_t len = sizeof domain;
    if (::getsockopt(sk.get(), SOL_SOCKET, SO_DOMAIN, &domain, &len) == 0 && domain == AF_NETLINK) {
      *type = img::NETLINKSK;
      uint32_t id = files_.NextId();
      files_.Add(CRYO_TRY(netlink_.Dump(pid, fd, sk.get(), id, ino, flags)));
      return id;
    }
    if (domain == AF_PACKET) {
      *type = img::PACKETSK;
      uint32_t id = files_.NextId();
      files_.Add(CRYO_TRY(packet_.Dump(pid, fd, sk.get(), id, ino, flags)));
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
    for (uint32_t wd : CRYO_TRY_CTX(ResolveWatches(fe, mounts, view_), "pid {} fd {}", pid, fd))
      for (const auto& w : fe.ify().wd())
        if (w.wd() == wd) unlinked_watches_.push_back({pid, fd, wd, w.s_dev(), w.i_ino()});
    *type = img::INOTIFY;
    files_.Add(std::move(fe));
    return id;
  }
  if (auto ns = NsFileKind(link)) {
    *type = img::NS;
    uint32_t id = files_.NextId();
    files_.Add(CRYO_TRY(NsFile(pid, fd, id, flags, st, *ns)));
    return id;
  }
  bool pidfd = link == "anon_inode:[pidfd]";
  for (const auto& [name, parse] : kAnon) {
    if (link != name && !pidfd) continue;
    std::string info = CRYO_TRY(ReadFile(fmt::format("/proc/{}/fdinfo/{}", pid, fd)));
    uint32_t id = files_.NextId();
    img::file_entry fe = pidfd ? CRYO_TRY_CTX(PidfdEntry(id, flags, st.st_ino, info), "pid {} fd {}", pid, fd)
                               : CRYO_TRY_CTX(parse(id, flags, info), "pid {} fd {} ({})", pid, fd, link);
    if (pidfd && pids_ && pids_->own_ns() && fe.pidfd().nspid() != -1) {
      // The process it refers to, by its pid in the tree's namespace.
      pid_t target = pids_->Dumped(fe.pidfd().nspid());
      if (target == 0)
        return MakeError(ENOTSUP, "pid {} fd {}: a pidfd of a process outside the tree's pid namespace", pid, fd);
      fe.mutable_pidfd()->set_nspid(target);
    }
    if (fe.type() == img::EVENTPOLL) CRYO_TRY(EpollTargets(pid, fd, fe.mutable_epfd()));
    *type = fe.type();
    files_.Add(std::move(fe));
    return id;
  }
  if (S_ISFIFO(st.st_mode) && link.starts_with("/")) {
    // Unlinked: a ghost FIFO, by its path entry.
    bool gone = Gone(link, st);
    if (!gone) CRYO_TRY(Reachable(pid, fd, link, st, -1));
    *type = img::FIFO;
    CRYO_TRY_CTX(PipeData(ino, proc, true), "pid {} fd {}", pid, fd);
    uint32_t regf = files_.AddReg(link, flags, 0, st);
    if (gone) CRYO_TRY(remaps_.Remap(regf, link, proc, st, view_, fmt::format("pid {} fd {}", pid, fd), files_));
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
  // Both ends of a tree pty, and a slave whose master is gone (hung up).
  if (S_ISCHR(st.st_mode) && (Ptys::IsMaster(st.st_rdev) || ptys_.IsTreeSlave(st.st_rdev))) {
    *type = img::TTY;
    return ptys_.Dump(pid, fd, st.st_rdev, flags, files_);
  }
  // Unlinked (or renamed over): recreated from the dump (file_remap.h).
  if (link.starts_with("/dev/pts/") && link.ends_with(kDeleted))
    return MakeError(ENOTSUP, "pid {} fd {}: terminal {} was removed: not supported", pid, fd, link);
  bool gone = link.starts_with("/") && Gone(link, st);
  // A symlink is held open with O_PATH|O_NOFOLLOW, and reopened so.
  bool by_path = link.starts_with("/") &&
                 (S_ISREG(st.st_mode) || S_ISDIR(st.st_mode) || S_ISCHR(st.st_mode) || S_ISLNK(st.st_mode));
  if (!by_path) {
    std::string kind = link.starts_with("socket:[")      ? SocketKind(pid, fd)
                       : link.starts_with("anon_inode:") ? link.substr(11)
                                                         : link;
    return MakeError(ENOTSUP, "pid {} fd {}: {} ({}) is not supported by this build yet", pid, fd, kind, link);
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
  // The system console (5:1) and the virtual consoles (4:1-63) are the
  // host's, not the tree's: reopened by path, as CRIU does.
  bool console = S_ISCHR(st.st_mode) && ((major(st.st_rdev) == 5 && minor(st.st_rdev) == 1) ||
                                         (major(st.st_rdev) == 4 && minor(st.st_rdev) >= 1 && minor(st.st_rdev) <= 63));
  if (S_ISCHR(st.st_mode) && !console) {
    unsigned maj = major(st.st_rdev), min = minor(st.st_rdev);
    bool stateless = maj == 1 && (min == 3 || min == 5 || min == 7 || min == 8 || min == 9);
    bool terminal = link.starts_with("/dev/pts/") || link.starts_with("/dev/tty");
    if (!stateless && !terminal)
      return MakeError(ENOTSUP, "pid {} fd {}: device {} ({}:{}) is not supported by this build yet", pid, fd, link,
                       maj, min);
  }
  // A terminal outside the dump (the shell's) is reopened by path on
  // restore, with --shell-job only, as CRIU does.
  // /dev/tty of a task whose controlling terminal is a pty of the tree:
  // opened again by the task itself once its session has that terminal.
  bool own_ctty = S_ISCHR(st.st_mode) && st.st_rdev == makedev(5, 0) && ptys_.IsTreeCtty(pid);
  if (S_ISCHR(st.st_mode) && !console && !own_ctty && (link.starts_with("/dev/pts/") || link.starts_with("/dev/tty")) &&
      !opts_.shell_job)
    return MakeError(ENOTSUP, "pid {} fd {}: terminal {} belongs to a shell job: dump with --shell-job", pid, fd, link);
  if (!gone) CRYO_TRY(Reachable(pid, fd, link, st, mnt_id));
  // One ghost is made for an unlinked inode, in the directory of its
  // first open; an open of it by another path in another mount namespace
  // of the tree (a hard link in another directory, another mount) would
  // come back on the wrong directory or mount.
  if (gone) {
    auto [seen, first] = ghosts_seen_.emplace(std::make_pair(st.st_dev, st.st_ino),
                                              GhostSeen{link, fmt::format("pid {} fd {}", pid, fd), other_mnt_ns_});
    if (!first && seen->second.path != link && (other_mnt_ns_ || seen->second.other_mnt_ns))
      return MakeError(ENOTSUP,
                       "pid {} fd {}: unlinked file {} is opened separately as {} ({}) too, in another mount "
                       "namespace: not supported",
                       pid, fd, link, seen->second.path, seen->second.where);
  }
  *type = img::REG;
  uint32_t id = files_.AddReg(link, flags, pos, st, mounts_.count(mnt_id) ? mnt_id : -1);
  if (gone) CRYO_TRY(remaps_.Remap(id, link, proc, st, view_, fmt::format("pid {} fd {}", pid, fd), files_));
  return id;
}

bool FdDumper::Gone(std::string& link, const struct stat& st) const {
  if (!link.ends_with(kDeleted)) return false;
  // A name that truly ends so, of this very file, is no remap.
  struct stat there;
  if (::stat((view_ + link).c_str(), &there) == 0 && there.st_dev == st.st_dev && there.st_ino == st.st_ino)
    return false;
  return StripDeleted(link);
}

Result<uint32_t> FdDumper::ByPath(std::string link, const std::string& proc, uint32_t flags) {
  struct stat st;
  if (!link.ends_with(kDeleted)) return files_.ByPath(link, flags);
  if (::stat(proc.c_str(), &st) != 0) return ErrnoError("stat {}", proc);
  if (!Gone(link, st)) return files_.ByPath(link, flags);
  auto key = std::make_tuple(st.st_dev, st.st_ino, flags);
  if (auto it = gone_by_inode_.find(key); it != gone_by_inode_.end()) return it->second;
  uint32_t id = files_.AddReg(link, flags, 0, st);
  CRYO_TRY(remaps_.Remap(id, link, proc, st, view_, proc, files_));
  gone_by_inode_[key] = id;
  return id;
}

// An epoll's registrations name fds of the task that made them: one in
// flight is taken as the task's whose socket holds it (the one that will
// receive it); inside a socket itself in flight, it is refused.
Result<> FdDumper::EpollTargets(pid_t pid, int fd, img::eventpoll_file_entry* e) const {
  pid_t self = ::getpid();
  if (pid != self) return ResolveEpollTargets(pid, fd, pid, e);
  if (e->tfd_size() == 0) return {};
  if (in_flight_holder_ == self || in_flight_holder_ == 0)
    return MakeError(ENOTSUP, "an epoll in flight inside a unix socket itself in flight watches {} files: not supported",
                     e->tfd_size());
  CRYO_TRY_CTX(ResolveEpollTargets(self, fd, in_flight_holder_, e), "an epoll in flight");
  return {};
}

Result<uint32_t> FdDumper::InFlight(int ours, pid_t holder) {
  pid_t self = ::getpid();
  std::string proc = fmt::format("/proc/{}/fd/{}", self, ours);
  std::string link = CRYO_TRY(ReadLink(proc));
  std::string fdinfo = CRYO_TRY(ReadFile(fmt::format("/proc/{}/fdinfo/{}", self, ours)));
  FdInfo fi = CRYO_TRY(ParseFdInfo(fdinfo));
  struct stat st;
  if (::stat(proc.c_str(), &st) != 0) return ErrnoError("stat {}", proc);
  if (auto k = files_.Known(self, ours, st)) return *k;
  img::fd_types type = img::UND;
  pid_t outer = in_flight_holder_;
  in_flight_holder_ = holder;
  auto dumped = DumpFile(self, ours, link, st, fi.flags & ~static_cast<uint32_t>(O_CLOEXEC), fi.pos, fi.mnt_id, &type);
  in_flight_holder_ = outer;
  uint32_t id = CRYO_TRY(std::move(dumped));
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
  // A watch on an unlinked inode follows the ghost of an fd on that inode.
  for (const auto& w : unlinked_watches_) {
    dev_t dev = makedev(w.s_dev >> 20, w.s_dev & 0xfffff);
    if (!remaps_.HasGhost(dev, static_cast<ino_t>(w.ino)))
      return MakeError(ENOTSUP,
                       "pid {} fd {}: inotify watch {} is on inode {}, unlinked, which no fd of the tree holds: not "
                       "supported",
                       w.pid, w.fd, w.wd, w.ino);
  }
  CRYO_TRY(unix_.Finish(dir_, files_));
  CRYO_TRY(ptys_.Write(dir_));
  {
    ImageWriter w(dir_, ImageKind::kFileLocks);
    for (const auto& l : locks_) CRYO_TRY(w.Write(l));
    CRYO_TRY(w.Close());
  }
  CRYO_TRY(remaps_.Write());
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
