#include "engine/restore/unix_socket.h"

#include <fcntl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstring>
#include <functional>
#include <string>
#include <vector>

#include "engine/image/unix_name.h"
#include "engine/restore/socket_opts.h"

namespace cryo {
namespace {

constexpr uint32_t kListen = 10;

Result<std::pair<sockaddr_un, socklen_t>> Address(const std::string& name) {
  sockaddr_un a{};
  a.sun_family = AF_UNIX;
  if (name.empty() || name.size() > sizeof a.sun_path) return MakeError(EINVAL, "unix socket name of {} bytes", name.size());
  std::memcpy(a.sun_path, name.data(), name.size());
  return std::make_pair(a, static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + name.size()));
}

std::string Printable(const std::string& name) { return PrintableUnixName(name); }

// Runs `fn` in the directory a relative name was bound in (cryo's cwd
// again after).
Result<> InDir(const img::unix_sk_entry& u, const std::function<Result<>()>& fn) {
  if (!u.has_name_dir() || u.name().empty() || u.name()[0] == '\0' || u.name()[0] == '/') return fn();
  UniqueFd back(::open(".", O_PATH | O_DIRECTORY | O_CLOEXEC));
  if (!back) return ErrnoError("open cryo's cwd");
  if (::chdir(u.name_dir().c_str()) != 0) return ErrnoError("socket {}: chdir to {}", u.id(), u.name_dir());
  Result<> r = fn();
  if (::fchdir(back.get()) != 0) return ErrnoError("back to cryo's cwd");
  return r;
}

// The socket file gets the mode and owner it had.
Result<> FilePerms(const img::unix_sk_entry& u) {
  if (!u.has_file_perms()) return {};
  std::string path = UnixPath(u.name());
  const auto& p = u.file_perms();
  if (::fchmodat(AT_FDCWD, path.c_str(), p.mode() & 07777, 0) != 0)
    return ErrnoError("socket {}: chmod {}", u.id(), path);
  if (::fchownat(AT_FDCWD, path.c_str(), p.uid(), p.gid(), AT_SYMLINK_NOFOLLOW) != 0)
    return ErrnoError("socket {}: chown {}", u.id(), path);
  return {};
}

// Binds to the dumped name; a socket file left behind by the dumped
// process (they outlive their sockets) makes way.
Result<> Bind(int fd, const img::unix_sk_entry& u) {
  const std::string& name = u.name();
  auto [a, len] = CRYO_TRY(Address(name));
  return InDir(u, [&]() -> Result<> {
    if (name[0] != '\0') {
      std::string path = UnixPath(name);
      struct stat st;
      if (::lstat(path.c_str(), &st) == 0 && S_ISSOCK(st.st_mode)) ::unlink(path.c_str());
    }
    if (::bind(fd, reinterpret_cast<sockaddr*>(&a), len) != 0)
      return ErrnoError("socket {}: bind to {}", u.id(), Printable(name));
    if (name[0] != '\0') CRYO_TRY(FilePerms(u));
    return {};
  });
}

Result<> Connect(int fd, const img::unix_sk_entry& to, uint32_t id) {
  auto [a, len] = CRYO_TRY(Address(to.name()));
  return InDir(to, [&]() -> Result<> {
    if (::connect(fd, reinterpret_cast<sockaddr*>(&a), len) != 0)
      return ErrnoError("socket {}: connect to {}", id, Printable(to.name()));
    return {};
  });
}

// A socket whose file was unlinked after bind: bound again for as long as
// its clients take to connect, then its file goes. Whatever holds the
// path now (a later socket, a FIFO) steps aside meanwhile; directories
// that had gone are made for the while.
class Ghost {
 public:
  explicit Ghost(const img::unix_sk_entry& u) : u_(u), path_(UnixPath(u.name())) {}
  Result<> Bind(int fd) {
    return InDir(u_, [&]() -> Result<> {
      CRYO_TRY(MakeDirs());
      struct stat st;
      if (::lstat(path_.c_str(), &st) == 0) {
        parked_ = path_ + ".cryo-sk-ghost";
        if (::rename(path_.c_str(), parked_.c_str()) != 0) {
          parked_.clear();
          return ErrnoError("socket {}: move {} aside", u_.id(), path_);
        }
      }
      auto [a, len] = CRYO_TRY(Address(u_.name()));
      if (::bind(fd, reinterpret_cast<sockaddr*>(&a), len) != 0)
        return ErrnoError("socket {}: bind to {}", u_.id(), path_);
      bound_ = true;
      return FilePerms(u_);
    });
  }
  // The path as it was at dump: no file of this socket, what was there back.
  Result<> Done() {
    return InDir(u_, [&]() -> Result<> {
      if (bound_ && ::unlink(path_.c_str()) != 0) return ErrnoError("socket {}: unlink {}", u_.id(), path_);
      bound_ = false;
      if (!parked_.empty() && ::rename(parked_.c_str(), path_.c_str()) != 0)
        return ErrnoError("socket {}: move {} back", u_.id(), path_);
      parked_.clear();
      for (auto d = made_.rbegin(); d != made_.rend(); ++d) ::rmdir(d->c_str());
      made_.clear();
      return {};
    });
  }

 private:
  Result<> MakeDirs() {
    for (size_t at = path_.find('/', 1); at != std::string::npos; at = path_.find('/', at + 1)) {
      std::string dir = path_.substr(0, at);
      if (::mkdir(dir.c_str(), 0755) == 0) {
        made_.push_back(dir);
      } else if (errno != EEXIST) {
        return ErrnoError("socket {}: mkdir {}", u_.id(), dir);
      }
    }
    return {};
  }
  const img::unix_sk_entry& u_;
  std::string path_, parked_;
  std::vector<std::string> made_;
  bool bound_ = false;
};

// Sends `packets` again through `via`, with the files in flight they carry.
Result<> Requeue(int via, uint32_t id, const std::vector<ImageSet::Packet>& packets,
                 const std::map<uint32_t, UniqueFd>& out) {
  for (const auto& p : packets) {
    iovec iov{const_cast<char*>(p.data.data()), p.data.size()};
    msghdr m{};
    m.msg_iov = &iov;
    m.msg_iovlen = 1;
    std::vector<char> ctl;
    if (!p.rights.empty()) {
      ctl.resize(CMSG_SPACE(p.rights.size() * sizeof(int)));
      m.msg_control = ctl.data();
      m.msg_controllen = ctl.size();
      cmsghdr* c = CMSG_FIRSTHDR(&m);
      c->cmsg_level = SOL_SOCKET;
      c->cmsg_type = SCM_RIGHTS;
      c->cmsg_len = CMSG_LEN(p.rights.size() * sizeof(int));
      for (size_t i = 0; i < p.rights.size(); i++) {
        auto f = out.find(p.rights[i]);
        if (f == out.end())
          return MakeError(ENOTSUP, "socket {}: file {} in flight is of a kind not sent again yet", id, p.rights[i]);
        int fd = f->second.get();
        std::memcpy(CMSG_DATA(c) + i * sizeof(int), &fd, sizeof fd);
      }
    }
    ssize_t n = ::sendmsg(via, &m, MSG_DONTWAIT | MSG_NOSIGNAL);
    if (n != static_cast<ssize_t>(p.data.size()))
      return ErrnoError("socket {}: queue {} bytes again (sent {})", id, p.data.size(), n);
  }
  return {};
}

// A datagram socket with a name: what it holds came from anyone who knew
// the name, and comes again that way.
bool NamedDgram(const img::unix_sk_entry& u) { return u.type() == SOCK_DGRAM && !u.name().empty(); }
// Bound to a path whose file was unlinked since.
bool Unlinked(const img::unix_sk_entry& u) { return u.deleted() && !u.name().empty() && u.name()[0] != '\0'; }

Result<> CheckType(const img::unix_sk_entry& u) {
  int type = static_cast<int>(u.type());
  if (type != SOCK_STREAM && type != SOCK_DGRAM && type != SOCK_SEQPACKET)
    return MakeError(EINVAL, "unix socket {}: type {}", u.id(), type);
  return {};
}

// The unix sockets of a dump made again, step by step (Run).
class Rebuild {
 public:
  Rebuild(const ImageSet& s, std::map<uint32_t, UniqueFd>& out, const std::set<uint32_t>& inherited)
      : s_(s), out_(out), inherited_(inherited) {}

  Result<> Run() {
    for (const auto& [id, u] : s_.unix_sks)
      if (!id_of_.emplace(u.ino(), id).second) return MakeError(0, "files.img: unix socket inode {} twice", u.ino());
    CRYO_TRY(CheckExternalPeers());
    CRYO_TRY(CreateUnpaired());
    CRYO_TRY(CreatePairs());
    for (const auto& [id, u] : s_.unix_sks)
      if (!External(u) && FdOf(id) >= 0) CRYO_TRY(ApplySocketOpts(FdOf(id), u.opts(), id, false));
    CRYO_TRY(RequeueAll());
    for (auto& [id, g] : ghosts_) CRYO_TRY(GhostWhile(id, g));
    CRYO_TRY(ConnectClients(0, false));
    return Finish();
  }

 private:
  const img::unix_sk_entry* EntryOf(uint32_t ino) const {
    auto it = id_of_.find(ino);
    return it == id_of_.end() ? nullptr : &s_.unix_sks.at(it->second);
  }
  // Two sockets connected to each other (not one connected to itself: a
  // bound datagram socket may be).
  bool Mutual(const img::unix_sk_entry& u) const {
    const auto* p = EntryOf(u.peer());
    return p != nullptr && p != &u && p->peer() == u.ino() && u.state() != kListen && p->state() != kListen;
  }
  bool External(const img::unix_sk_entry& u) const { return (u.uflags() & 1) != 0 || inherited_.count(u.id()) > 0; }
  int FdOf(uint32_t id) const { return out_.at(id).get(); }

  // A socket whose peer is an external stream socket can only be handed in.
  Result<> CheckExternalPeers() const {
    for (const auto& [id, u] : s_.unix_sks) {
      if (External(u) || u.peer() == 0) continue;
      const auto* p = EntryOf(u.peer());
      if (p != nullptr && (p->uflags() & 1) && u.type() != SOCK_DGRAM)
        return MakeError(ENOENT,
                         "unix socket {} was connected to a socket outside the dump: restore with --inherit-fd "
                         "fd[N]:socket:[{}]",
                         id, u.ino());
    }
    return {};
  }

  // Sockets without a peer of their own in the dump: bound (and listening)
  // as they were. One whose peer is gone but which still holds what the
  // peer sent is made as half of a pair: the other half sends it again and
  // goes. One whose file is gone is bound later, as a ghost.
  Result<> CreateUnpaired() {
    for (const auto& [id, u] : s_.unix_sks) {
      if (External(u) || (u.peer() != 0 && Mutual(u))) continue;
      CRYO_TRY(CheckType(u));
      int type = static_cast<int>(u.type());
      UniqueFd fd;
      if (u.peer() == 0 && u.state() != kListen && s_.sk_queues.count(id) && !NamedDgram(u)) {
        int sv[2];
        if (::socketpair(AF_UNIX, type | SOCK_CLOEXEC, 0, sv) != 0) return ErrnoError("socketpair for socket {}", id);
        fd = UniqueFd(sv[0]);
        gone_peer_[id] = UniqueFd(sv[1]);
      } else {
        fd = UniqueFd(::socket(AF_UNIX, type | SOCK_CLOEXEC, 0));
        if (fd.get() < 0) return ErrnoError("socket for socket {}", id);
      }
      // A client's name is its server's (accepted sockets report the
      // listener's name): only what no peer explains is bound.
      bool bind_it = !u.name().empty() && (u.state() == kListen || u.peer() == 0 || u.type() == SOCK_DGRAM);
      bool ghost = bind_it && Unlinked(u);
      if (ghost) {
        ghosts_.emplace_back(id, Ghost(u));
      } else if (bind_it) {
        CRYO_TRY(Bind(fd.get(), u));
      }
      if (u.state() == kListen && !ghost && ::listen(fd.get(), static_cast<int>(u.backlog())) != 0)
        return ErrnoError("socket {}: listen", id);
      out_[id] = std::move(fd);
    }
    return {};
  }

  // Connected pairs: through their listener when it is in the dump (so the
  // accepted end has its name and the client its peer's), else as a
  // socketpair. A listener whose file is gone takes its connections while
  // its ghost is bound (GhostWhile).
  Result<> CreatePairs() {
    for (const auto& [id, u] : s_.unix_sks)
      if (u.state() == kListen && !u.name().empty() && !External(u))
        (Unlinked(u) ? ghost_listener_of_ : listener_of_)[u.name()] = id;
    for (const auto& [id, u] : s_.unix_sks) {
      if (out_.count(id) || External(u) || u.peer() == 0 || !Mutual(u)) continue;
      uint32_t peer_id = id_of_.at(u.peer());
      CRYO_TRY(CheckType(u));
      if (u.type() != SOCK_DGRAM && CRYO_TRY(ThroughListener(id, peer_id))) continue;
      int sv[2];
      if (::socketpair(AF_UNIX, static_cast<int>(u.type()) | SOCK_CLOEXEC, 0, sv) != 0)
        return ErrnoError("socketpair for socket {}", id);
      out_[id] = UniqueFd(sv[0]);
      out_[peer_id] = UniqueFd(sv[1]);
    }
    return {};
  }

  // Whether one of the pair was accepted from a listener of the dump (the
  // accepted end reports its listener's name): then made through it.
  Result<bool> ThroughListener(uint32_t id, uint32_t peer_id) {
    const auto& u = s_.unix_sks.at(id);
    const auto& p = s_.unix_sks.at(peer_id);
    for (auto* names : {&listener_of_, &ghost_listener_of_}) {
      auto lu = names->find(u.name()), lp = names->find(p.name());
      if (lu == names->end() && lp == names->end()) continue;
      bool u_accepted = lu != names->end();
      uint32_t acc = u_accepted ? id : peer_id, cli = u_accepted ? peer_id : id;
      uint32_t listener = (u_accepted ? lu : lp)->second;
      if (names == &ghost_listener_of_) {
        ghost_pairs_[listener].emplace_back(acc, cli);
        out_[acc] = UniqueFd();  // made later
        out_[cli] = UniqueFd();
        return true;
      }
      CRYO_TRY(Through(listener, acc, cli));
      return true;
    }
    return false;
  }

  Result<> Through(uint32_t listener_id, uint32_t acc, uint32_t cli) {
    const auto& c = s_.unix_sks.at(cli);
    const auto& listener = s_.unix_sks.at(listener_id);
    UniqueFd cfd(::socket(AF_UNIX, static_cast<int>(c.type()) | SOCK_CLOEXEC, 0));
    if (cfd.get() < 0) return ErrnoError("socket for socket {}", cli);
    if (!c.name().empty() && c.name() != listener.name()) CRYO_TRY(Bind(cfd.get(), c));
    CRYO_TRY(Connect(cfd.get(), listener, cli));
    UniqueFd afd(::accept4(FdOf(listener_id), nullptr, nullptr, SOCK_CLOEXEC));
    if (afd.get() < 0) return ErrnoError("socket {}: accept from {}", acc, Printable(listener.name()));
    out_[cli] = std::move(cfd);
    out_[acc] = std::move(afd);
    return {};
  }

  // Clients of named sockets (in the dump, or outside it with
  // --ext-unix-sk); those of a socket whose file is gone while it is bound
  // for them (`ghost`: the clients of `server_ino` only).
  Result<> ConnectClients(uint32_t server_ino, bool ghost) {
    for (const auto& [id, u] : s_.unix_sks) {
      if (u.peer() == 0 || External(u) || Mutual(u)) continue;
      const auto* p = EntryOf(u.peer());
      if (p == nullptr) return MakeError(0, "unix socket {}: peer {} is not in the dump", id, u.peer());
      if (Unlinked(*p) != ghost || (ghost && u.peer() != server_ino)) continue;
      if (p->name().empty()) return MakeError(0, "unix socket {}: peer {} has no name to connect to", id, u.peer());
      CRYO_TRY(Connect(FdOf(id), *p, id));
    }
    return {};
  }

  // Queued packets arrive again from the peer (or, for a named datagram
  // socket, from anyone: before it connects anywhere, when anyone still
  // may send to it).
  Result<> RequeueAll() {
    for (const auto& [id, packets] : s_.sk_queues) {
      const auto& u = s_.unix_sks.at(id);
      if (inherited_.count(id)) continue;  // the real socket, with its own queue
      if (FdOf(id) < 0) continue;         // a connection of a ghost listener: queued with it
      if (Mutual(u)) {
        CRYO_TRY(Requeue(FdOf(id_of_.at(u.peer())), id, packets, out_));
      } else if (auto g = gone_peer_.find(id); g != gone_peer_.end()) {
        CRYO_TRY(Requeue(g->second.get(), id, packets, out_));
      } else if (NamedDgram(u)) {
        if (!Unlinked(u)) CRYO_TRY(RequeueByName(u, packets));  // else while its ghost is bound
      } else {
        return MakeError(ENOTSUP, "unix socket {}: queued data with no peer to send it again", id);
      }
    }
    gone_peer_.clear();  // the peers are gone again: what they sent stays queued
    return {};
  }

  Result<> RequeueByName(const img::unix_sk_entry& u, const std::vector<ImageSet::Packet>& packets) {
    UniqueFd temp(::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0));
    if (temp.get() < 0) return ErrnoError("socket");
    CRYO_TRY(Connect(temp.get(), u, u.id()));
    return Requeue(temp.get(), u.id(), packets, out_);
  }

  // A socket whose file is gone, bound for the while: its connections
  // (with what they hold), its datagrams, its clients; then the file goes.
  Result<> GhostWhile(uint32_t id, Ghost& g) {
    const auto& u = s_.unix_sks.at(id);
    CRYO_TRY(g.Bind(FdOf(id)));
    if (u.state() == kListen && ::listen(FdOf(id), static_cast<int>(u.backlog())) != 0)
      return ErrnoError("socket {}: listen", id);
    for (auto [acc, cli] : ghost_pairs_[id]) {
      CRYO_TRY(Through(id, acc, cli));
      for (uint32_t end : {acc, cli}) CRYO_TRY(ApplySocketOpts(FdOf(end), s_.unix_sks.at(end).opts(), end, false));
      for (auto [end, peer] : {std::pair{acc, cli}, std::pair{cli, acc}})
        if (auto q = s_.sk_queues.find(end); q != s_.sk_queues.end()) CRYO_TRY(Requeue(FdOf(peer), end, q->second, out_));
    }
    if (auto q = s_.sk_queues.find(id); q != s_.sk_queues.end() && NamedDgram(u)) CRYO_TRY(RequeueByName(u, q->second));
    CRYO_TRY(ConnectClients(u.ino(), true));
    return g.Done();
  }

  // Shutdown states and status flags, last.
  Result<> Finish() const {
    for (const auto& [id, u] : s_.unix_sks) {
      if (External(u)) continue;
      if (int sh = u.has_shutdown() ? static_cast<int>(u.shutdown()) : 0; sh != 0) {
        int how = sh == 1 ? SHUT_RD : sh == 2 ? SHUT_WR : SHUT_RDWR;
        if (::shutdown(FdOf(id), how) != 0) return ErrnoError("socket {}: shutdown", id);
      }
      constexpr uint32_t kStatus = O_NONBLOCK | O_ASYNC;
      if (::fcntl(FdOf(id), F_SETFL, u.flags() & kStatus) != 0) return ErrnoError("socket {}: flags", id);
    }
    return {};
  }

  const ImageSet& s_;
  std::map<uint32_t, UniqueFd>& out_;
  const std::set<uint32_t>& inherited_;
  std::map<uint32_t, uint32_t> id_of_;       // inode -> file id
  std::map<uint32_t, UniqueFd> gone_peer_;   // socket id -> the half that stands for its gone peer
  std::vector<std::pair<uint32_t, Ghost>> ghosts_;
  std::map<std::string, uint32_t> listener_of_, ghost_listener_of_;               // name -> listener id
  std::map<uint32_t, std::vector<std::pair<uint32_t, uint32_t>>> ghost_pairs_;  // listener -> (accepted, client)
};

}  // namespace

Result<> CreateUnixSockets(const ImageSet& s, std::map<uint32_t, UniqueFd>& out, const std::set<uint32_t>& inherited,
                           const mnt::TreeRoot& root) {
  // Names are paths of the tree's: bound and connected from inside its root.
  return root.Within([&]() { return Rebuild(s, out, inherited).Run(); });
}

}  // namespace cryo
