// A TCP connection's state, read in repair mode (TCP_REPAIR), where the
// socket neither sends nor answers anything: sequence numbers, the data
// in both queues (what was received and not read yet; what was sent and
// not acknowledged, or not sent yet), the options both ends agreed on and
// the windows (tcp-stream-INO.img, as libsoccr and CRIU keep it).
#pragma once

#include <string>

#include "engine/base/result.h"
#include "engine/image/proto/socket.pb.h"

namespace cryo {

struct TcpStream {
  img::tcp_stream_entry entry;
  std::string inq, outq;  // receive and send queues
  int state = 0;          // read in repair mode, where it no longer moves
};

// Turns repair mode on (1) or off (0, with a window probe so the peer
// learns of the socket again at once).
Result<> SetTcpRepair(int sk, int on);
// `sk` is in repair mode.
Result<TcpStream> ReadTcpStream(int sk);

}  // namespace cryo
