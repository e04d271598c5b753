#include "engine/restore/shared_files.h"

#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <set>

#include "engine/base/files.h"
#include "engine/ns/mqueue.h"
#include "engine/restore/clone_pid.h"
#include "engine/restore/event_files.h"
#include "engine/restore/pty.h"
#include "engine/restore/tun_file.h"
#include "engine/restore/inet_socket.h"
#include "engine/restore/netlink_socket.h"
#include "engine/restore/packet_socket.h"
#include "engine/restore/unix_socket.h"

namespace cryo {
namespace {

// Status flags a description carries (the access mode is fixed at open).
constexpr uint32_t kStatusFlags = O_NONBLOCK | O_APPEND | O_ASYNC | O_DIRECT | O_NOATIME;

Result<> SetStatus(int fd, uint32_t flags, uint32_t id) {
  if (::fcntl(fd, F_SETFL, flags & kStatusFlags) != 0) return ErrnoError("set flags {:#x} of file {}", flags, id);
  return {};
}

// A second description of an object cryo holds, with access mode `mode`.
Result<UniqueFd> Reopen(int fd, uint32_t mode) {
  return Open(fmt::format("/proc/self/fd/{}", fd), static_cast<int>(mode | O_CLOEXEC | O_NONBLOCK));
}

Result<> Fill(int wfd, const PipeData* pd, uint32_t ino) {
  if (pd == nullptr) return {};
  if (pd->entry.has_size() && ::fcntl(wfd, F_SETPIPE_SZ, pd->entry.size()) < 0)
    return ErrnoError("size pipe {} to {} bytes", ino, pd->entry.size());
  return WriteAll(wfd, pd->data);
}

}  // namespace

Result<> SharedFiles::CreatePipes(const ImageSet& s) {
  struct Ends {
    UniqueFd r, w;
    bool r_used = false, w_used = false;
  };
  std::map<uint32_t, Ends> by_inode;
  for (const auto& [id, p] : s.pipes) {
    if (fds_.count(id)) continue;  // --inherit-fd gave it
    auto [it, fresh] = by_inode.try_emplace(p.pipe_id());
    Ends& e = it->second;
    if (fresh) {
      int fds[2];
      if (::pipe2(fds, O_CLOEXEC) != 0) return ErrnoError("pipe for pipe {}", p.pipe_id());
      e.r = UniqueFd(fds[0]);
      e.w = UniqueFd(fds[1]);
      auto pd = s.pipe_data.find(p.pipe_id());
      CRYO_TRY_CTX(Fill(e.w.get(), pd == s.pipe_data.end() ? nullptr : &pd->second, p.pipe_id()), "pipe {}",
                   p.pipe_id());
    }
    bool reader = (p.flags() & O_ACCMODE) == O_RDONLY;
    bool& used = reader ? e.r_used : e.w_used;
    UniqueFd fd;
    if (!used) {
      fd = UniqueFd(::fcntl(reader ? e.r.get() : e.w.get(), F_DUPFD_CLOEXEC, 0));
      if (fd.get() < 0) return ErrnoError("dup pipe {}", p.pipe_id());
      used = true;
    } else {
      fd = CRYO_TRY(Reopen(reader ? e.r.get() : e.w.get(), reader ? O_RDONLY : O_WRONLY));
    }
    CRYO_TRY(SetStatus(fd.get(), p.flags(), id));
    fds_[id] = std::move(fd);
  }
  return {};
}

Result<> SharedFiles::CreateFifos(const ImageSet& s, const PathOf& path_of, const mnt::TreeRoot& root) {
  for (const auto& [id, f] : s.fifos) {
    const auto* reg = CRYO_TRY(s.File(f.regf_id()));
    std::string path = CRYO_TRY(path_of(f.regf_id()));  // an unlinked one's ghost
    if (!holds_.count(f.pipe_id())) {
      // Both ends held: no open below blocks, and the FIFO keeps its bytes.
      UniqueFd hold = CRYO_TRY_CTX(root.Open(path, O_RDWR | O_NONBLOCK | O_CLOEXEC), "FIFO {}", reg->name());
      auto pd = s.fifo_data.find(f.pipe_id());
      CRYO_TRY_CTX(Fill(hold.get(), pd == s.fifo_data.end() ? nullptr : &pd->second, f.pipe_id()), "FIFO {}",
                   reg->name());
      holds_[f.pipe_id()] = std::move(hold);
    }
    uint32_t mode = reg->flags() & O_ACCMODE;
    UniqueFd fd = CRYO_TRY_CTX(root.Open(path, static_cast<int>(mode | O_CLOEXEC | O_NONBLOCK)), "FIFO {}",
                               reg->name());
    CRYO_TRY(SetStatus(fd.get(), reg->flags(), id));
    fds_[id] = std::move(fd);
  }
  return {};
}

Result<> SharedFiles::CreateRegular(const ImageSet& s, const PathOf& path_of, const mnt::TreeRoot& root) {
  std::set<uint32_t> ids;
  for (const auto& [id, users] : s.tables_using)
    if (users >= 2) ids.insert(id);
  ids.insert(s.in_flight.begin(), s.in_flight.end());  // sent again from cryo
  for (uint32_t id : ids) {
    img::fd_types kind = s.kinds.at(id);
    if ((kind != img::REG && kind != img::MEMFD) || s.mqueues.count(id) || fds_.count(id)) continue;
    // /dev/tty names the opener's controlling terminal: each task opens it.
    if (kind == img::REG && CRYO_TRY(s.File(id))->name() == "/dev/tty") continue;
    uint32_t flags;
    uint64_t pos;
    if (kind == img::REG) {
      const auto* f = CRYO_TRY(s.File(id));
      flags = f->flags();
      pos = f->pos();
    } else {
      const auto& m = s.memfd_files.at(id);
      flags = m.flags();
      pos = m.pos();
    }
    std::string path = CRYO_TRY(path_of(id));
    flags = OpenFlags(flags);
    // memfds are cryo's own; regular files (ghosts too) are the tree's.
    auto opened = kind == img::MEMFD ? Open(path, static_cast<int>(flags | O_CLOEXEC))
                                     : root.Open(path, static_cast<int>(flags | O_CLOEXEC));
    if (!opened && opened.error().err() == ENOENT && kind == img::REG && IsProcPidPath(path)) {
      later_.push_back({id, path, flags, pos});  // of a process not forked yet
      continue;
    }
    CRYO_TRY(OpenedAt(id, CRYO_TRY(std::move(opened)), path, flags, pos));
  }
  return {};
}

bool SharedFiles::IsProcPidPath(std::string_view path) {
  if (!path.starts_with("/proc/")) return false;
  path.remove_prefix(6);
  size_t digits = 0;
  while (digits < path.size() && path[digits] >= '0' && path[digits] <= '9') digits++;
  return digits > 0 && (digits == path.size() || path[digits] == '/');
}

Result<> SharedFiles::OpenedAt(uint32_t id, UniqueFd fd, const std::string& path, uint32_t flags, uint64_t pos) {
  if (!(flags & O_PATH) && pos != 0 && ::lseek(fd.get(), static_cast<off_t>(pos), SEEK_SET) < 0)
    return ErrnoError("seek {} to {}", path, pos);
  fds_[id] = std::move(fd);
  return {};
}

Result<> SharedFiles::CreateHidden(const ImageSet& s, const PathOf& path_of, const Hidden& hidden) {
  if (!hidden) return {};
  for (const auto& [id, entry] : s.files) {
    if (entry.mnt_id() < 0 || s.kinds.at(id) != img::REG || s.mqueues.count(id) || s.links.count(id) || fds_.count(id))
      continue;
    // Only what a task holds or a packet carries (a FIFO's path entry,
    // say, is opened as the FIFO).
    if (!s.tables_using.count(id) && !s.in_flight.count(id)) continue;
    // An unlinked file, by the path it was made at again.
    img::reg_file_entry f = entry;
    if (s.ghosts.count(id)) f.set_name(CRYO_TRY(path_of(id)));
    uint32_t flags = OpenFlags(f.flags());
    auto fd = CRYO_TRY_CTX(hidden(f, static_cast<int>(flags)), "file {}", f.name());
    if (!fd) continue;
    if (!(flags & O_PATH) && f.pos() != 0 && ::lseek(fd->get(), static_cast<off_t>(f.pos()), SEEK_SET) < 0)
      return ErrnoError("seek {} to {}", f.name(), f.pos());
    fds_[id] = std::move(*fd);
  }
  return {};
}

Result<> SharedFiles::Inherit(const ImageSet& s, const std::vector<InheritFd>& inherit) {
  for (const auto& in : inherit) {
    if (::fcntl(in.fd, F_GETFD) < 0) return ErrnoError("--inherit-fd fd[{}]:{}: fd {} is not open", in.fd, in.key, in.fd);
    uint32_t ino = 0;
    bool pipe = std::sscanf(in.key.c_str(), "pipe:[%u]", &ino) == 1;
    bool socket = !pipe && std::sscanf(in.key.c_str(), "socket:[%u]", &ino) == 1;
    if (!pipe && !socket) continue;  // other keys: not files of these kinds
    std::vector<uint32_t> ids;
    if (pipe)
      for (const auto& [id, p] : s.pipes)
        if (p.pipe_id() == ino) ids.push_back(id);
    if (socket)
      for (const auto& [id, u] : s.unix_sks)
        if (u.ino() == ino && !(u.uflags() & 1)) ids.push_back(id);
    if (ids.empty())
      return MakeError(ENOENT, "--inherit-fd fd[{}]:{}: the dump has no such {}", in.fd, in.key, pipe ? "pipe" : "socket");
    for (uint32_t id : ids) {
      UniqueFd fd(::fcntl(in.fd, F_DUPFD_CLOEXEC, 0));
      if (fd.get() < 0) return ErrnoError("dup fd {}", in.fd);
      fds_[id] = std::move(fd);
      inherited_.insert(id);
    }
  }
  return {};
}

Result<> SharedFiles::Create(const ImageSet& s, const PathOf& path_of, const std::vector<InheritFd>& inherit,
                             const mnt::TreeRoot& root, const std::function<UniqueFd(uint32_t)>& premade_pty,
                             const Hidden& hidden) {
  CRYO_TRY(Inherit(s, inherit));
  CRYO_TRY_CTX(CreateHidden(s, path_of, hidden), "files under other mounts");
  CRYO_TRY_CTX(CreateRegular(s, path_of, root), "files shared by processes");
  // Queues by name, in the IPC namespace cryo is in (the tree's).
  for (uint32_t id : s.mqueues) {
    if (fds_.count(id)) continue;  // --inherit-fd gave it
    const auto* f = CRYO_TRY(s.File(id));
    fds_[id] = CRYO_TRY(ns::OpenMqueue(f->name(), f->flags()));
  }
  CRYO_TRY_CTX(CreatePipes(s), "pipes");
  CRYO_TRY_CTX(CreateFifos(s, path_of, root), "FIFOs");
  CRYO_TRY_CTX(CreateEventFiles(s, fds_, root, ghost_of_), "event files");
  CRYO_TRY_CTX(CreatePtys(s, fds_, root, orphan_masters_, premade_pty), "ptys");
  CRYO_TRY_CTX(CreateUnixSockets(s, fds_, inherited_, root), "unix sockets");
  CRYO_TRY_CTX(CreateInetSockets(s, tcp_close_, fds_, tcp_), "IP sockets");
  CRYO_TRY_CTX(CreateNetlinkSockets(s, fds_), "netlink sockets");
  CRYO_TRY_CTX(CreatePacketSockets(s, fds_), "packet sockets");
  CRYO_TRY_CTX(CreateTunFiles(s, fds_), "tun files");
  return {};
}

}  // namespace cryo

namespace cryo {

Result<> SharedFiles::CreateAfterFork(const ImageSet& s, const std::function<pid_t(pid_t)>& host_of,
                                      const mnt::TreeRoot& root) {
  for (const Later& l : later_)
    CRYO_TRY_CTX(OpenedAt(l.id, CRYO_TRY(root.Open(l.path, static_cast<int>(l.flags | O_CLOEXEC))), l.path, l.flags,
                          l.pos),
                 "files shared by processes");
  later_.clear();
  CRYO_TRY_CTX(OpenDeadProcs(s, host_of, root), "/proc of exited processes");
  return CreatePidfds(s, fds_, host_of);
}

// Paths below /proc/PID of processes that had exited: a child of cryo
// with that pid, in the tree's pid namespace, lives while they are opened
// and the tasks enter them (a cwd: fchdir needs the process alive), then
// is killed and reaped (ReleaseDeadProcs), which leaves them as they were
// (unhashed).
Result<> SharedFiles::OpenDeadProcs(const ImageSet& s, const std::function<pid_t(pid_t)>& host_of,
                                    const mnt::TreeRoot& root) {
  std::map<pid_t, std::vector<uint32_t>> by_pid;
  for (const auto& [id, pid] : s.dead_procs) by_pid[pid].push_back(id);
  if (by_pid.empty()) return {};
  pid_t tree_root = s.tasks.empty() ? 0 : host_of(s.tasks[0].pid());
  if (tree_root <= 0) return MakeError(ESRCH, "the tree's root is not there");
  UniqueFd pidns = CRYO_TRY(Open(fmt::format("/proc/{}/ns/pid", tree_root), O_RDONLY | O_CLOEXEC));
  for (const auto& [pid, ids] : by_pid) {
    UniqueFd mine = CRYO_TRY(Open("/proc/thread-self/ns/pid_for_children", O_RDONLY | O_CLOEXEC));
    if (::setns(pidns.get(), CLONE_NEWPID) != 0) return ErrnoError("enter the tree's pid namespace");
    Result<pid_t> child = ForkWithPid(pid);
    if (child && *child == 0) {
      for (;;) ::pause();
    }
    if (::setns(mine.get(), CLONE_NEWPID) != 0) return ErrnoError("back to cryo's pid namespace");
    if (!child) return std::unexpected(child.error().context(fmt::format("a stand-in for exited pid {}", pid)));
    stand_ins_.push_back(*child);
    for (uint32_t id : ids) {
      const auto* f = CRYO_TRY(s.File(id));
      uint32_t flags = f->flags() & ~static_cast<uint32_t>(O_CREAT | O_TRUNC | O_EXCL);
      fds_[id] = CRYO_TRY(root.Open(f->name(), static_cast<int>(flags | O_CLOEXEC)));
    }
  }
  return {};
}

void SharedFiles::ReleaseDeadProcs() {
  for (pid_t p : stand_ins_) {
    ::kill(p, SIGKILL);
    while (::waitpid(p, nullptr, 0) < 0 && errno == EINTR) {
    }
  }
  stand_ins_.clear();
}

}  // namespace cryo
