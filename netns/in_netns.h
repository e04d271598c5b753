// Working in another network namespace: cryo's thread steps into it for
// netlink and sysctls (a netlink socket and a /proc/sys/net lookup belong
// to the namespace of the thread that makes them), and the firewall tools
// run as children born into it.
#pragma once

#include <sys/types.h>

#include <string>
#include <string_view>
#include <vector>

#include "engine/base/result.h"
#include "engine/base/unique_fd.h"

namespace cryo::netns {

// An fd of `pid`'s network namespace; pid 0: the calling thread's.
Result<UniqueFd> OpenNetns(pid_t pid);
// The inode naming the namespace of `netns_fd`.
Result<uint64_t> NetnsInode(int netns_fd);

// While alive, the calling thread is in the namespace of `netns_fd`;
// going out of scope takes it back.
class NetnsSwitch {
 public:
  static Result<NetnsSwitch> Enter(int netns_fd);
  NetnsSwitch(NetnsSwitch&&) noexcept = default;
  NetnsSwitch& operator=(NetnsSwitch&&) = delete;
  ~NetnsSwitch();

 private:
  NetnsSwitch() = default;
  UniqueFd back_;  // invalid when no switch was needed
};

// Runs a program (looked up in the sbin and bin directories) in the
// namespace of `netns_fd` with `input` on its stdin, and returns its
// stdout; a failure names the command and carries its stderr.
Result<std::string> RunIn(int netns_fd, const std::vector<std::string>& argv, std::string_view input = {});
// Whether `program` can be found there.
bool HaveProgram(std::string_view program);

}  // namespace cryo::netns
