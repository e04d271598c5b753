// A TCP connection rebuilt in repair mode from tcp-stream-INO.img: bound
// and "connected" without a packet on the wire, at the sequence numbers,
// options, windows and queued data it had. It leaves repair mode only
// when every socket of the tree exists (TcpConnections::Resume), so the
// window probe that brings it back to life finds its peer there.
#pragma once

#include <sys/socket.h>

#include <string>
#include <vector>

#include "engine/base/result.h"

namespace cryo {

class TcpConnections {
 public:
  // Rebuilds the connection of socket `sk` (fresh, unbound) from image
  // tcp-stream-<ino>; `self` and `peer` are its two ends; `sndbuf` and
  // `rcvbuf` the buffer sizes it had (as getsockopt reports them).
  // `state`: established, half-closed (its FINs queued again), or closed
  // with bytes still to be read.
  // `reuse`, `buf_lock`: its SO_REUSEADDR and SO_BUF_LOCK, set again when
  // it leaves repair mode.
  Result<> Restore(int sk, int dir, uint32_t ino, int state, const sockaddr_storage& self,
                   const sockaddr_storage& peer, uint32_t sndbuf, uint32_t rcvbuf, bool reuse, uint32_t buf_lock);
  // Out of repair mode, then the data never sent is sent (it goes out now
  // as it would have then). cryo's fds must still be open.
  Result<> Resume();
  // Whether the dump kept the stream of socket `ino` (a closed one's
  // unread bytes, say).
  static bool HasStream(int dir, uint32_t ino);
  bool empty() const { return held_.empty(); }

 private:
  struct Held {
    int sk;
    uint32_t ino;
    std::string unsent;
    uint32_t sndbuf;
    bool reuse;
    uint32_t buf_lock;
  };
  std::vector<Held> held_;
};

}  // namespace cryo
