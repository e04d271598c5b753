// A criu_opts message (CRIU's RPC) as cryo's Options. The directories a
// request names by fd (images_dir_fd, work_dir_fd) are the client's fds,
// reached through /proc/PEER/fd/N; inherit_fd numbers are cryo's own fds.
// A config_file is read first and the request's fields go over it. Fields
// asking for what this build does not do (page server, lazy pages,
// incremental dumps) are refused, as are, in `service` mode, the fields
// that only make sense for a swrk child (rst_sibling, inherit_fd).
#pragma once

#include <sys/types.h>

#include <vector>

#include "engine/base/result.h"
#include "engine/base/unique_fd.h"
#include "engine/image/proto/rpc.pb.h"
#include "engine/options/options.h"

namespace cryo {

// EBADRQC: what CRIU answers for options it cannot take.
inline constexpr int kBadRequest = 56;

struct RpcPeer {
  pid_t pid = 0;         // SO_PEERCRED of the connection
  bool service = false;  // `cryo service`, not `cryo swrk`
};

// `command` is "dump", "restore", "check", ..., with its positional
// `arguments` ("cpuinfo" takes "dump" or "check"). `held` keeps the
// opened directories alive for as long as the request runs.
Result<Options> OptionsFromRpc(const rpc::criu_opts& rpc, const std::string& command, const RpcPeer& peer,
                               std::vector<UniqueFd>& held, const std::vector<std::string>& arguments = {});

// The client's directory fd N as a path cryo can use.
Result<std::string> PeerDirectory(pid_t peer, int fd, std::vector<UniqueFd>& held);

}  // namespace cryo
