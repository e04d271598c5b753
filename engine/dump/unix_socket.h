// Unix sockets of a tree (unix_sk_entry in files.img) and the packets
// queued on them (sk-queues.img), read with MSG_PEEK so the tree finds them
// there again if the dump fails. A peer outside the tree is refused unless
// --ext-unix-sk allows it (a datagram socket connected to a named one).
#pragma once

#include <sys/types.h>

#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "engine/base/result.h"
#include "engine/base/unique_fd.h"
#include "engine/dump/file_table.h"
#include "engine/dump/unix_diag.h"
#include "engine/image/proto/socket.pb.h"
#include "engine/options/options.h"

namespace cryo {

class UnixSockets {
 public:
  explicit UnixSockets(const Options& opts) : opts_(opts) {}
  // The tree's network namespace (sock_diag sees one namespace: the one
  // its socket was made in), given by a task in it.
  void SetNetnsOf(pid_t pid) { netns_of_ = pid; }

  // Whether inode `ino` is a unix socket (of this network namespace).
  Result<bool> IsUnix(uint32_t ino);
  // The path socket `ino` is bound to, "" when unbound or abstract.
  Result<std::string> PathName(uint32_t ino);
  // Gives the files.img id of a file in flight (an fd of cryo's own that a
  // peek received), dumping it when new.
  using FileOf = std::function<Result<uint32_t>(int fd)>;
  // The socket behind /proc/PID/fd/FD: its entry and queued packets.
  Result<uint32_t> Dump(pid_t pid, int fd, uint32_t ino, uint32_t flags, FileTable& files, const FileOf& file_of);
  // Checks every peer is in the dump (or allowed outside); adds the entries
  // to files.img and writes sk-queues.img.
  Result<> Finish(int dir, FileTable& files);

 private:
  Result<> Load();
  pid_t netns_of_ = 0;
  struct Dumped {
    img::file_entry entry;
    pid_t pid;
    int fd;
  };
  struct Packet {
    img::sk_packet_entry entry;
    std::string data;
  };
  const Options& opts_;
  std::optional<std::map<uint32_t, UnixDiag>> diag_;
  std::map<uint32_t, uint32_t> waiting_on_;  // connection awaiting accept -> listener
  std::map<uint32_t, Dumped> by_ino_;
  std::map<uint32_t, uint32_t> id_of_;  // inode -> files.img id, set before the queue is read
  std::vector<Packet> packets_;
  std::vector<UniqueFd> in_flight_;  // kept open while the dump runs: kcmp compares against them
};

}  // namespace cryo
