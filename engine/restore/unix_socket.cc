#include "engine/restore/unix_socket.h"

#include <fcntl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstring>
#include <vector>

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

std::string Printable(const std::string& name) {
  return !name.empty() && name[0] == '\0' ? "@" + name.substr(1) : name;
}

// Binds to the dumped name; a socket file left behind by the dumped
// process (they outlive their sockets) makes way.
Result<> Bind(int fd, const std::string& name, uint32_t id) {
  auto [a, len] = CRYO_TRY(Address(name));
  if (name[0] == '/') {
    struct stat st;
    if (::lstat(name.c_str(), &st) == 0 && S_ISSOCK(st.st_mode)) ::unlink(name.c_str());
  }
  if (::bind(fd, reinterpret_cast<sockaddr*>(&a), len) != 0)
    return ErrnoError("socket {}: bind to {}", id, Printable(name));
  return {};
}

Result<> Connect(int fd, const std::string& name, uint32_t id) {
  auto [a, len] = CRYO_TRY(Address(name));
  if (::connect(fd, reinterpret_cast<sockaddr*>(&a), len) != 0)
    return ErrnoError("socket {}: connect to {}", id, Printable(name));
  return {};
}


Result<> CreateHere(const ImageSet& s, std::map<uint32_t, UniqueFd>& out, const std::set<uint32_t>& inherited) {
  std::map<uint32_t, uint32_t> id_of;  // inode -> file id
  for (const auto& [id, u] : s.unix_sks)
    if (!id_of.emplace(u.ino(), id).second) return MakeError(0, "files.img: unix socket inode {} twice", u.ino());
  auto entry_of = [&](uint32_t ino) -> const img::unix_sk_entry* {
    auto it = id_of.find(ino);
    return it == id_of.end() ? nullptr : &s.unix_sks.at(it->second);
  };
  auto mutual = [&](const img::unix_sk_entry& u) {
    const auto* p = entry_of(u.peer());
    return p != nullptr && p->peer() == u.ino() && u.state() != kListen && p->state() != kListen;
  };
  auto fd_of = [&](uint32_t id) { return out.at(id).get(); };
  auto external = [&](const img::unix_sk_entry& u) { return (u.uflags() & 1) != 0 || inherited.count(u.id()) > 0; };
  // A socket whose peer is an external stream socket can only be handed in.
  for (const auto& [id, u] : s.unix_sks) {
    if (external(u) || u.peer() == 0) continue;
    const auto* p = entry_of(u.peer());
    if (p != nullptr && (p->uflags() & 1) && u.type() != SOCK_DGRAM)
      return MakeError(ENOENT, "unix socket {} was connected to a socket outside the dump: restore with --inherit-fd fd[N]:socket:[{}]",
                       id, u.ino());
  }

  // Sockets without a peer of their own in the dump first: bound (and
  // listening) as they were.
  for (const auto& [id, u] : s.unix_sks) {
    if (external(u) || (u.peer() != 0 && mutual(u))) continue;
    int type = static_cast<int>(u.type());
    if (type != SOCK_STREAM && type != SOCK_DGRAM && type != SOCK_SEQPACKET)
      return MakeError(EINVAL, "unix socket {}: type {}", id, type);
    UniqueFd fd(::socket(AF_UNIX, type | SOCK_CLOEXEC, 0));
    if (fd.get() < 0) return ErrnoError("socket for socket {}", id);
    // A client's name is its server's (accepted sockets report the
    // listener's name): only what no peer explains is bound.
    bool bind_it = !u.name().empty() && (u.state() == kListen || u.peer() == 0 || u.type() == SOCK_DGRAM);
    if (bind_it) CRYO_TRY(Bind(fd.get(), u.name(), id));
    if (u.state() == kListen && ::listen(fd.get(), static_cast<int>(u.backlog())) != 0)
      return ErrnoError("socket {}: listen", id);
    out[id] = std::move(fd);
  }
  // Connected pairs: through their listener when it is in the dump (so the
  // accepted end has its name and the client its peer's), else as a
  // socketpair.
  std::map<std::string, uint32_t> listener_of;  // name -> listening socket id
  for (const auto& [id, u] : s.unix_sks)
    if (u.state() == kListen && !u.name().empty() && !external(u)) listener_of[u.name()] = id;
  for (const auto& [id, u] : s.unix_sks) {
    if (out.count(id) || external(u) || u.peer() == 0 || !mutual(u)) continue;
    uint32_t peer_id = id_of.at(u.peer());
    const auto& p = s.unix_sks.at(peer_id);
    int type = static_cast<int>(u.type());
    if (type != SOCK_STREAM && type != SOCK_DGRAM && type != SOCK_SEQPACKET)
      return MakeError(EINVAL, "unix socket {}: type {}", id, type);
    auto lu = listener_of.find(u.name()), lp = listener_of.find(p.name());
    if (type != SOCK_DGRAM && (lu != listener_of.end() || lp != listener_of.end())) {
      bool u_accepted = lu != listener_of.end();
      uint32_t acc = u_accepted ? id : peer_id, cli = u_accepted ? peer_id : id;
      const auto& c = s.unix_sks.at(cli);
      const std::string& name = u_accepted ? u.name() : p.name();
      UniqueFd cfd(::socket(AF_UNIX, type | SOCK_CLOEXEC, 0));
      if (cfd.get() < 0) return ErrnoError("socket for socket {}", cli);
      if (!c.name().empty() && c.name() != name) CRYO_TRY(Bind(cfd.get(), c.name(), cli));
      CRYO_TRY(Connect(cfd.get(), name, cli));
      UniqueFd afd(::accept4(fd_of(listener_of.at(name)), nullptr, nullptr, SOCK_CLOEXEC));
      if (afd.get() < 0) return ErrnoError("socket {}: accept from {}", acc, Printable(name));
      out[cli] = std::move(cfd);
      out[acc] = std::move(afd);
      continue;
    }
    int sv[2];
    if (::socketpair(AF_UNIX, type | SOCK_CLOEXEC, 0, sv) != 0) return ErrnoError("socketpair for socket {}", id);
    out[id] = UniqueFd(sv[0]);
    out[peer_id] = UniqueFd(sv[1]);
  }
  for (const auto& [id, u] : s.unix_sks)
    if (!external(u)) CRYO_TRY(ApplySocketOpts(fd_of(id), u.opts(), id, false));
  // Clients of named sockets (in the dump, or outside it with --ext-unix-sk).
  for (const auto& [id, u] : s.unix_sks) {
    if (u.peer() == 0 || external(u) || mutual(u)) continue;
    const auto* p = entry_of(u.peer());
    if (p == nullptr) return MakeError(0, "unix socket {}: peer {} is not in the dump", id, u.peer());
    if (p->name().empty()) return MakeError(0, "unix socket {}: peer {} has no name to connect to", id, u.peer());
    CRYO_TRY(Connect(fd_of(id), p->name(), id));
  }
  // Queued packets arrive again from the peer (or, for a named datagram
  // socket, from anyone).
  for (const auto& [id, packets] : s.sk_queues) {
    const auto& u = s.unix_sks.at(id);
    if (inherited.count(id)) continue;  // the real socket, with its own queue
    const auto* p = entry_of(u.peer());
    UniqueFd temp;
    int via = -1;
    if (p != nullptr && mutual(u)) {
      via = fd_of(id_of.at(u.peer()));
    } else if (u.type() == SOCK_DGRAM && !u.name().empty()) {
      temp = UniqueFd(::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0));
      if (temp.get() < 0) return ErrnoError("socket");
      CRYO_TRY(Connect(temp.get(), u.name(), id));
      via = temp.get();
    } else {
      return MakeError(ENOTSUP, "unix socket {}: queued data with no peer to send it again", id);
    }
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
  }
  for (const auto& [id, u] : s.unix_sks) {
    if (external(u)) continue;
    if (int sh = u.has_shutdown() ? static_cast<int>(u.shutdown()) : 0; sh != 0) {
      int how = sh == 1 ? SHUT_RD : sh == 2 ? SHUT_WR : SHUT_RDWR;
      if (::shutdown(fd_of(id), how) != 0) return ErrnoError("socket {}: shutdown", id);
    }
    constexpr uint32_t kStatus = O_NONBLOCK | O_ASYNC;
    if (::fcntl(fd_of(id), F_SETFL, u.flags() & kStatus) != 0) return ErrnoError("socket {}: flags", id);
  }
  return {};
}

}  // namespace

Result<> CreateUnixSockets(const ImageSet& s, std::map<uint32_t, UniqueFd>& out, const std::set<uint32_t>& inherited,
                           const mnt::TreeRoot& root) {
  // Names are paths of the tree's: bound and connected from inside its root.
  return root.Within([&]() { return CreateHere(s, out, inherited); });
}

}  // namespace cryo
