// One RPC connection (`cryo swrk FD`, or a `cryo service` worker): criu_req
// messages in, criu_resp out, one per SOCK_SEQPACKET packet. VERSION,
// FEATURE_CHECK, CHECK and WAIT_PID may be followed by more requests
// (keep_open); DUMP and RESTORE end the connection. With notify_scripts,
// each notification of the dump or restore goes to the client as a
// NOTIFY response and waits for its answer. Errors are responses with
// success false, cr_errno and a short cr_errmsg; an unreadable or unknown
// request gets one too, and creates nothing.
#pragma once

#include <sys/types.h>

#include <optional>
#include <string>

#include "cli/rpc_options.h"
#include "engine/base/log.h"
#include "engine/base/result.h"
#include "engine/image/proto/rpc.pb.h"

namespace cryo {

class RpcSession {
 public:
  // `fd`: the connected socket (not owned).
  RpcSession(int fd, bool service) : fd_(fd), service_(service) {}
  // Serves until the last request; the exit status (0: every reply a success).
  int Serve();

  // For the notifier.
  Result<> Send(const rpc::criu_resp& resp, int pass_fd = -1);
  // Empty at a clean end of the connection.
  Result<std::optional<rpc::criu_req>> Receive();

 private:
  Result<bool> Handle(const rpc::criu_req& req);  // false: the connection ends
  // DUMP, or with `pre` PRE_DUMP and SINGLE_PRE_DUMP (the reply has the
  // request's type).
  Result<> Dump(const rpc::criu_req& req, bool pre = false);
  Result<> Restore(const rpc::criu_req& req);
  Result<> Fail(rpc::criu_req_type type, const Error& e);

  int fd_;
  bool service_;
  RpcPeer peer_;
  bool failed_ = false;
};

}  // namespace cryo
