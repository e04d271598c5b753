// The network lock: while a tree is frozen for a dump, and while it is
// being restored, no packet reaches it or leaves it, so a peer sees
// neither an answer nor a reset (its TCP retransmits, and the restored
// connection takes over). Methods as CRIU's --network-lock: nftables (a
// table of cryo's own), iptables (a chain of cryo's own, in filter), skip.
// Each lock is named after a run id unique to the dump (the inventory's
// dump_criu_run_id), so its table or chain never collides with one
// someone else made, and nothing else is ever touched.
#pragma once

#include <netinet/in.h>

#include <array>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "engine/base/log.h"
#include "engine/base/result.h"
#include "engine/base/unique_fd.h"
#include "engine/options/options.h"

namespace cryo::netns {

// 16 random hex digits.
std::string NewRunId();
// The names a run's lock uses: nft table "inet cryo-lock-ID", iptables
// chain "CRYO-ID" (in filter, jumped to from INPUT and OUTPUT).
std::string LockTableName(std::string_view run_id);
std::string LockChainName(std::string_view run_id);

// A whole network namespace locked: every packet in or out dropped.
class NetnsLock {
 public:
  NetnsLock() = default;  // no lock
  static Result<NetnsLock> Lock(int netns_fd, NetworkLock method, std::string_view run_id, Log& log);
  NetnsLock(NetnsLock&& o) noexcept { *this = std::move(o); }
  NetnsLock& operator=(NetnsLock&& o) noexcept;
  // Unlocks unless Unlock() or Keep() was called (an error path).
  ~NetnsLock();

  bool active() const { return netns_.valid(); }
  Result<> Unlock();
  // The lock stays after cryo is gone: the tree was killed, its namespace
  // dies with it (or a restore into it lifts the lock: UnlockLeftover).
  void Keep() { netns_.reset(); }
  // The tree is about to be killed and its namespace to die: its devices
  // but lo go down first. Tearing a namespace down drops its firewall
  // before its devices, and in between a peer's packet would meet no
  // lock and no socket, and be answered with a reset.
  Result<> Silence();

 private:
  UniqueFd netns_;
  NetworkLock method_ = NetworkLock::kSkip;
  std::string run_id_;
};

// Lifts the namespace lock a dump with run id `run_id` left in the
// namespace of `netns_fd`; nothing when there is none.
Result<> UnlockLeftover(int netns_fd, NetworkLock method, std::string_view run_id, Log& log);

// One TCP connection of a tree that shares cryo's network namespace, as
// inet_sk_entry holds it: addresses in network byte order (IPv4 in
// word 0; a v4-mapped IPv6 address counts as IPv4), ports in host order.
struct Connection {
  int family = AF_INET;  // AF_INET or AF_INET6
  std::array<uint32_t, 4> src{}, dst{};
  uint16_t sport = 0, dport = 0;
};

// Drops the packets of each connection, both directions, in cryo's
// current network namespace (the dump: after the tree is frozen, before
// its sockets are read). May be called more than once with the same run
// id: the connections add up.
Result<> LockConnections(NetworkLock method, std::string_view run_id, std::span<const Connection> conns, Log& log);
// Lifts every connection lock of `run_id` (on a failed dump, after a
// dump that leaves the tree running, or on restore once the sockets are
// back, with the dump's run id); nothing when there is none.
Result<> UnlockConnections(NetworkLock method, std::string_view run_id, Log& log);

}  // namespace cryo::netns
