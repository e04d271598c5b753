// IPv4 and IPv6 sockets of a tree (inet_sk_entry in files.img): TCP
// listening, closed and (with --tcp-established) connected sockets, UDP
// and UDP-lite, ping (ICMP) and raw sockets, with their addresses and
// options. A connection is read in repair mode (tcp-stream-INO.img) and
// stays in it until the tree is killed, so it closes without a word to
// its peer; if the tree runs on instead, it leaves repair mode.
#pragma once

#include <sys/socket.h>
#include <sys/types.h>

#include <map>
#include <string>
#include <utility>
#include <vector>

#include "engine/base/log.h"
#include "engine/base/result.h"
#include "engine/base/unique_fd.h"
#include "engine/dump/inet_diag.h"
#include "engine/image/proto/files.pb.h"
#include "engine/options/options.h"

namespace cryo {

// One end of a TCP connection, as the network lock names it.
struct TcpConnection {
  int family = 0;
  std::string src, dst;  // 4 or 16 bytes, network order
  uint16_t src_port = 0, dst_port = 0;
};

// The connections one dump put into repair mode. A tree in cryo's own
// network namespace has each connection locked (netns/lock.h) before it
// is read: no packet of it passes until the tree runs on, or until a
// restore lifts the lock (a namespace of the tree's own is locked whole).
class RepairedConnections {
 public:
  RepairedConnections() = default;
  RepairedConnections(const RepairedConnections&) = delete;
  RepairedConnections& operator=(const RepairedConnections&) = delete;
  // Unless kept, the connections carry on (Resume): no path out of a
  // failed dump leaves them in repair mode or locked.
  ~RepairedConnections();
  // `run_id` names the lock; `pid` is the tree's root.
  void SetLock(NetworkLock method, std::string run_id, pid_t pid, Log& log);
  // Locks the connection (when it is to be), then puts `sk` into repair
  // mode and keeps it.
  Result<> Add(int sk, TcpConnection c);
  // The tree runs on: its connections carry on where they were.
  void Resume();
  // The tree is killed: cryo's copies close in repair mode, the lock stays.
  void Keep();
  bool empty() const { return socks_.empty(); }

 private:
  std::vector<UniqueFd> socks_;
  std::vector<int> reuse_;  // each one's SO_REUSEADDR
  NetworkLock method_ = NetworkLock::kSkip;
  std::string run_id_;
  bool lock_ = false, locked_ = false;
  Log* log_ = nullptr;
};

class InetSockets {
 public:
  // `netns`: the inode of the tree's network namespace; a socket made in
  // another one is refused.
  InetSockets(const Options& opts, int dir) : opts_(opts), dir_(dir) {}
  void SetNetns(uint64_t ino) { netns_ = ino; }
  void SetRepaired(RepairedConnections* r) { repaired_ = r; }

  // AF_INET or AF_INET6 if `sk` is an IP socket, else 0.
  static int Family(int sk);
  // The entry of socket `sk` (cryo's copy of fd `fd` of `pid`).
  Result<img::file_entry> Dump(pid_t pid, int fd, UniqueFd sk, uint32_t id, uint32_t ino, uint32_t flags);

 private:
  // What sock_diag says of socket `ino` (listed once per family and
  // protocol), nullptr when it does not list it.
  Result<const InetDiag*> Diag(pid_t pid, int family, int proto, uint32_t ino);
  // Puts connection `sk` (its ends `self`, `peer`) into repair mode and
  // writes its tcp-stream image; `e` gets the state it was read in.
  Result<> DumpStream(pid_t pid, int fd, int sk, uint32_t ino, int family, const sockaddr_storage& self,
                      const sockaddr_storage& peer, img::inet_sk_entry* e);

  const Options& opts_;
  int dir_;
  std::map<std::pair<int, int>, std::map<uint32_t, InetDiag>> diag_;
  uint64_t netns_ = 0;
  RepairedConnections* repaired_ = nullptr;
};

}  // namespace cryo
