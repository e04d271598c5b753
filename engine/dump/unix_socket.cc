#include "engine/dump/unix_socket.h"

#include <fcntl.h>
#include <string.h>
#include <linux/sockios.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#include "engine/base/unique_fd.h"
#include "engine/dump/socket_opts.h"
#include "engine/proc/proc.h"
#include "engine/image/image_writer.h"
#include "engine/image/unix_name.h"

namespace cryo {
namespace {

constexpr int kListen = 10;  // TCP_LISTEN, as unix sockets report it
constexpr size_t kMaxPacket = 1 << 20;
constexpr unsigned long kSiocUnixFile = SIOCPROTOPRIVATE + 0;  // <linux/un.h> clashes with <sys/un.h>

// The file a socket is bound to, as the kernel holds it (SIOCUNIXFILE
// gives it O_PATH): its mode and owner, whether it was unlinked since, and
// for a relative name the directory it was bound in (the task may be
// elsewhere now).
Result<> BoundFile(int sk, const std::string& name, img::unix_sk_entry* u) {
  UniqueFd file(::ioctl(sk, kSiocUnixFile));
  if (!file) return ErrnoError("the file of unix socket {}", PrintableUnixName(name));
  struct stat st;
  if (::fstat(file.get(), &st) != 0) return ErrnoError("stat unix socket {}", PrintableUnixName(name));
  auto* perms = u->mutable_file_perms();
  perms->set_mode(st.st_mode);
  perms->set_uid(st.st_uid);
  perms->set_gid(st.st_gid);
  std::string path = CRYO_TRY(ReadLink(fmt::format("/proc/self/fd/{}", file.get())));
  constexpr std::string_view kDeleted = " (deleted)";
  if (path.ends_with(kDeleted)) {
    u->set_deleted(true);
    path.resize(path.size() - kDeleted.size());
  }
  std::string rel = UnixPath(name);
  if (rel[0] == '/') return {};
  // The path ends with the name as it was bound ("a/b" in "/dir/a/b").
  if (path.size() <= rel.size() + 1 || !path.ends_with("/" + rel))
    return MakeError(ENOTSUP, "unix socket bound to the relative name {} now at {}: not supported", rel, path);
  u->set_name_dir(path.substr(0, path.size() - rel.size() - 1));
  return {};
}

}  // namespace

Result<> UnixSockets::Load() {
  if (diag_) return {};
  diag_ = CRYO_TRY(ListUnixSockets(netns_of_));
  for (const auto& [ino, d] : *diag_)
    for (uint32_t c : d.icons) waiting_on_[c] = ino;
  return {};
}

Result<bool> UnixSockets::IsUnix(uint32_t ino) {
  CRYO_TRY(Load());
  return diag_->count(ino) > 0;
}

Result<std::string> UnixSockets::PathName(uint32_t ino) {
  CRYO_TRY(Load());
  auto it = diag_->find(ino);
  if (it == diag_->end() || it->second.name.empty() || it->second.name[0] == '\0') return std::string();
  std::string name = it->second.name;
  while (!name.empty() && name.back() == '\0') name.pop_back();
  return name;
}

Result<uint32_t> UnixSockets::Dump(pid_t pid, int fd, uint32_t ino, uint32_t flags, FileTable& files,
                                   const FileOf& file_of) {
  CRYO_TRY(Load());
  // A socket in flight inside itself (or its peer) is met again while its
  // own queue is read: it has its id already.
  if (auto known = id_of_.find(ino); known != id_of_.end()) return known->second;
  const UnixDiag& d = diag_->at(ino);
  UniqueFd sk = CRYO_TRY(TakeTaskFd(pid, fd));
  uint32_t id = files.NextId();
  id_of_[ino] = id;
  Dumped out{{}, pid, fd};
  out.entry.set_type(img::UNIXSK);
  out.entry.set_id(id);
  auto* u = out.entry.mutable_usk();
  u->set_id(id);
  u->set_ino(ino);
  u->set_type(d.type);
  u->set_state(d.state);
  u->set_flags(flags);
  u->set_uflags(0);
  u->set_backlog(d.state == kListen ? d.wqueue : 0);
  // A connection in the listener's queue whose client is closed (the
  // queue lists it as inode 0) or held by no one the dump sees would be
  // lost: accept() would wait for ever after the restore.
  if (d.state == kListen)
    for (uint32_t c : d.icons)
      if (c == 0 || !diag_->count(c))
        return MakeError(ENOTSUP,
                         "pid {} fd {}: listening unix socket {} holds a connection not accepted yet whose client is "
                         "closed: not supported",
                         pid, fd, ino);
  // A connection the listener has not accepted yet: its client's peer is
  // the socket waiting in the listener's queue, which has no inode; the
  // listener lists the client. As far as restore goes, the client is
  // connected to the listener.
  uint32_t peer = d.peer;
  if (auto w = waiting_on_.find(ino); w != waiting_on_.end()) {
    if (d.wqueue != 0)
      return MakeError(ENOTSUP, "pid {} fd {}: unix socket {} sent {} bytes on a connection not accepted yet: not supported",
                       pid, fd, ino, d.wqueue);
    peer = w->second;
  }
  u->set_peer(peer);
  NoOwner(u->mutable_fown());
  CRYO_TRY_CTX(ReadSocketOpts(sk.get(), u->mutable_opts(), false), "pid {} fd {}", pid, fd);
  u->set_name(d.name);
  if (d.shutdown) u->set_shutdown(static_cast<img::sk_shutdown>(d.shutdown & 3));
  if (!d.name.empty() && d.name[0] != '\0') CRYO_TRY_CTX(BoundFile(sk.get(), d.name, u), "pid {} fd {}", pid, fd);

  // Queued packets, in order: with SO_PEEK_OFF each peek moves on.
  // (A datagram socket's rqueue is its first packet's length, which may
  // be 0: every one is looked at.)
  if (d.state != kListen && (d.rqueue > 0 || d.type != SOCK_STREAM)) {
    // A SOCK_SEQPACKET socket whose peer shut down answers a peek past
    // its last record with 0, as it answers an empty record: with
    // SO_PASSCRED on for the while, every record comes with credentials.
    int old_cred = 0;
    socklen_t cl = sizeof old_cred;
    bool seqpacket = d.type == SOCK_SEQPACKET;
    if (seqpacket && ::getsockopt(sk.get(), SOL_SOCKET, SO_PASSCRED, &old_cred, &cl) != 0)
      return ErrnoError("pid {} fd {}: SO_PASSCRED", pid, fd);
    int one = 1;
    if (seqpacket && !old_cred && ::setsockopt(sk.get(), SOL_SOCKET, SO_PASSCRED, &one, sizeof one) != 0)
      return ErrnoError("pid {} fd {}: SO_PASSCRED", pid, fd);
    int old_off = -1;
    socklen_t l = sizeof old_off;
    ::getsockopt(sk.get(), SOL_SOCKET, SO_PEEK_OFF, &old_off, &l);
    int zero = 0;
    if (::setsockopt(sk.get(), SOL_SOCKET, SO_PEEK_OFF, &zero, sizeof zero) != 0)
      return ErrnoError("pid {} fd {}: SO_PEEK_OFF", pid, fd);
    std::string buf(kMaxPacket, '\0');
    Result<> r;
    std::string stream;
    for (;;) {
      iovec iov{buf.data(), buf.size()};
      alignas(cmsghdr) char ctl[CMSG_SPACE(253 * sizeof(int)) + CMSG_SPACE(sizeof(ucred))];
      msghdr m{};
      m.msg_iov = &iov;
      m.msg_iovlen = 1;
      m.msg_control = ctl;
      m.msg_controllen = sizeof ctl;
      ssize_t n = ::recvmsg(sk.get(), &m, MSG_PEEK | MSG_DONTWAIT | MSG_TRUNC);
      if (n < 0) {
        // ENOTCONN: a datagram-like socket never connected holds nothing.
        if (errno != EAGAIN && !(errno == ENOTCONN && d.rqueue == 0))
          r = ErrnoError("pid {} fd {}: peek the queue", pid, fd);
        break;
      }
      bool record = false;
      // Files in flight arrive as fds of ours: each becomes a file of the
      // dump, named in the packet's scm entry.
      std::vector<int> got_fds;
      for (cmsghdr* c = CMSG_FIRSTHDR(&m); c != nullptr; c = CMSG_NXTHDR(&m, c)) {
        record |= c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_CREDENTIALS;
        if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS) continue;
        size_t k = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
        for (size_t i = 0; i < k; i++) {
          int got;
          std::memcpy(&got, CMSG_DATA(c) + i * sizeof(int), sizeof got);
          got_fds.push_back(got);
          in_flight_.emplace_back(got);
        }
      }
      if (m.msg_flags & MSG_CTRUNC) {
        r = MakeError(ENOTSUP, "pid {} fd {}: unix socket {}: too many fds in flight on one packet", pid, fd, ino);
        break;
      }
      if (static_cast<size_t>(n) > buf.size()) {
        r = MakeError(E2BIG, "pid {} fd {}: a queued packet of {} bytes", pid, fd, n);
        break;
      }
      if (n == 0 && d.type == SOCK_STREAM && got_fds.empty()) break;
      if (n == 0 && seqpacket && !record && got_fds.empty()) break;  // the end, not a record
      Packet p;
      for (int f : got_fds) {
        auto fid = file_of(f);
        if (!fid) {
          r = std::unexpected(fid.error().context(fmt::format("pid {} fd {}: a file in flight", pid, fd)));
          break;
        }
        if (p.entry.scm_size() == 0) p.entry.add_scm()->set_type(SCM_RIGHTS);
        p.entry.mutable_scm(0)->add_rights(*fid);
      }
      if (!r) break;
      if (d.type == SOCK_STREAM && got_fds.empty()) {
        stream.append(buf.data(), static_cast<size_t>(n));
        continue;
      }
      // A stream's bytes so far go first, as one packet; then this one.
      if (!stream.empty()) {
        Packet s0;
        s0.entry.set_id_for(id);
        s0.entry.set_length(static_cast<uint32_t>(stream.size()));
        s0.data = std::move(stream);
        stream.clear();
        packets_.push_back(std::move(s0));
      }
      p.entry.set_id_for(id);
      p.entry.set_length(static_cast<uint32_t>(n));
      p.data.assign(buf.data(), static_cast<size_t>(n));
      packets_.push_back(std::move(p));
    }
    ::setsockopt(sk.get(), SOL_SOCKET, SO_PEEK_OFF, &old_off, sizeof old_off);
    if (seqpacket && !old_cred) ::setsockopt(sk.get(), SOL_SOCKET, SO_PASSCRED, &old_cred, sizeof old_cred);
    CRYO_TRY(std::move(r));
    if (!stream.empty()) {
      Packet p;
      p.entry.set_id_for(id);
      p.entry.set_length(static_cast<uint32_t>(stream.size()));
      p.data = std::move(stream);
      packets_.push_back(std::move(p));
    }
  }
  by_ino_[ino] = std::move(out);
  return id;
}

Result<> UnixSockets::Finish(int dir, FileTable& files) {
  std::map<uint32_t, img::file_entry> external;  // named peers outside the tree
  for (auto& [ino, s] : by_ino_) {
    auto* u = s.entry.mutable_usk();
    uint32_t peer = u->peer();
    if (peer == 0 || by_ino_.count(peer) || external.count(peer)) continue;
    auto d = diag_->find(peer);
    bool named = d != diag_->end() && !d->second.name.empty();
    // With --ext-unix-sk: a datagram socket is connected to the peer's
    // name again on restore; a stream or seqpacket one must be handed to
    // the restore (--inherit-fd fd[N]:socket:[INO]).
    if (opts_.ext_unix_sk && (named || u->type() != SOCK_DGRAM)) {
      // The peer goes in as an entry no task holds, marked external.
      uint32_t id = files.NextId();
      img::file_entry fe;
      fe.set_type(img::UNIXSK);
      fe.set_id(id);
      auto* e = fe.mutable_usk();
      *e = *u;
      e->set_id(id);
      e->set_ino(peer);
      if (d != diag_->end()) {
        e->set_state(d->second.state);
        e->set_type(d->second.type);
        e->set_name(d->second.name);
      } else {
        e->set_name("");
      }
      e->set_flags(0);
      e->set_uflags(1);  // USK_EXTERN
      e->set_peer(0);
      e->clear_shutdown();
      external[peer] = std::move(fe);
      continue;
    }
    return MakeError(ENOTSUP, "pid {} fd {}: unix socket {} is connected to {}, outside the tree{}", s.pid, s.fd,
                     ino, named ? PrintableUnixName(d->second.name) : fmt::format("socket {}", peer),
                     " (dump with --ext-unix-sk)");
  }
  for (auto& [ino, e] : external) files.Add(std::move(e));
  for (auto& [ino, s] : by_ino_) files.Add(std::move(s.entry));
  ImageWriter w(dir, ImageKind::kSkQueues);
  for (const auto& p : packets_) {
    CRYO_TRY(w.Write(p.entry));
    CRYO_TRY(w.WriteRaw(std::string_view(p.data)));
  }
  return w.Close();
}

}  // namespace cryo
