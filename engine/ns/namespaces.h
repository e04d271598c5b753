// The namespaces of a dumped tree. A tree may have pid, mount, UTS, IPC,
// network and time namespaces of its own (the root's, shared by every
// task; the root is PID 1 of its pid namespace) and a cgroup namespace
// (cgroups/), and a user namespace of its own, a child of cryo's (user.h).
// Below its own mount namespace, tasks may sit in further ones (each its
// own mountpoints-N image, kNestedMntId + n).
// Each namespace gets an id in every task's ids image; the root's own ones
// are written as userns-N, pidns-N, mountpoints-N (engine/mnt), utsns-N,
// ipcns-var-N, netns-N + netdev-N, timens-N images, and their presence
// tells the restore to make them.
#pragma once

#include <sched.h>
#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "engine/base/log.h"
#include "engine/base/result.h"
#include "engine/base/unique_fd.h"
#include "engine/image/proto/core.pb.h"
#include "engine/mnt/mount_dump.h"
#include "engine/ns/user.h"
#include "engine/options/options.h"
#include "netns/lock.h"

namespace cryo::ns {

class NamespaceDumper {
 public:
  // `tasks`: every live task of the tree (the root first), whose mount
  // namespaces are dumped too.
  static Result<NamespaceDumper> Make(pid_t root, const Options& opts, const std::vector<pid_t>& tasks = {});
  // Task `pid` is where the tree can be: refused with one line otherwise.
  // Its namespace ids go into `ids`.
  Result<> Check(pid_t pid, img::task_kobj_ids_entry& ids) const;
  // The root's own namespaces, as images.
  Result<> Write(int dir, Log& log) const;
  // How cryo reaches the tree's files by the paths the tree sees: "" in
  // cryo's own mount namespace, else through the root's root.
  std::string View() const;
  // The same for task `pid`, whose ids Check gave.
  std::string ViewOf(pid_t pid, const img::task_kobj_ids_entry& ids) const;
  // The ids of the mounts of the root's own mount namespace (none without one).
  std::set<int> MountIds() const;
  // Whether the tree has an IPC namespace of its own (its SysV objects
  // are dumped with it).
  bool OwnIpc() const { return own_ipc_; }
  // The run whose network lock is on the root's network namespace: its
  // table or chain is left out of the dump.
  void SetNetLock(std::string run_id) { net_lock_run_ = std::move(run_id); }

 private:
  Result<> NestedMounts(const std::vector<pid_t>& tasks, const Options& opts, const std::vector<mnt::MountInfo>& ours);

  pid_t root_ = 0;
  uint64_t pid_ = 0, uts_ = 0, ipc_ = 0, net_ = 0, time_ = 0, mnt_ = 0, user_ = 0, cgroup_ = 0;  // the root's namespaces' inodes
  bool own_pid_ = false, own_uts_ = false, own_ipc_ = false, own_net_ = false, own_time_ = false;
  std::optional<mnt::MountDumper> mounts_;  // the root's own mount namespace
  struct NestedMnt {
    uint64_t inode;
    uint32_t id;
    mnt::MountDumper mounts;
  };
  std::vector<NestedMnt> nested_mnt_;  // the other mount namespaces of its tasks
  std::optional<img::userns_entry> user_maps_;  // the root's own user namespace
  std::string net_key_;  // --external net[INODE]:KEY for the root's netns
  std::string net_lock_run_;
};

// Dump: locks the network namespace of `root` when it is not cryo's own
// (--network-lock; netns/lock.h), named after `run_id`. Otherwise, or with
// skip, the lock returned is inactive.
Result<netns::NetnsLock> LockNetwork(pid_t root, const Options& opts, std::string_view run_id, Log& log);

// The ids the dump gives the namespaces of each kind.
inline constexpr uint32_t kUtsId = 1, kIpcId = 2, kNetId = 3, kPidId = 4, kTimeId = 5, kMntId = 6, kUserId = 7;
inline constexpr uint32_t kNestedMntId = 16;  // the first of the other mount namespaces

// Restore: cryo makes (or joins, --join-ns) the namespaces the root had of
// its own, sets them up as dumped, and stays in them while it creates the
// tree (the root, and the sockets it hands the tasks, are born there);
// going out of scope takes cryo back to its own.
// With a user namespace (userns image, or --join-ns user:), the
// namespaces cryo would make are made by UserNamespace's helper instead,
// owned by the user namespace, and cryo joins them: cryo itself stays in
// its own user namespace; the tasks enter the tree's (UserPath) once built
// enough (engine/restore). The mount namespace is made there too, for
// mnt::MountTree to enter (MadeMnt). A time namespace too, which the root
// joins itself before it has children (RootTimeNs; cryo joining it would
// shift its own clocks). Still owned by cryo's: a pid namespace (one with
// no process cannot be opened, the root is its first) and the cgroup
// namespace the root makes.
class NamespaceGuard {
 public:
  static Result<NamespaceGuard> Enter(const img::task_kobj_ids_entry& root_ids, int images_dir, const Options& opts,
                                      Log& log);
  NamespaceGuard(NamespaceGuard&&) noexcept = default;
  NamespaceGuard& operator=(NamespaceGuard&&) = delete;
  ~NamespaceGuard();
  // Just before the tasks run: the network namespace cryo made opens (its
  // restore lock lifted), and a joined one loses the lock the dump left
  // in it, if any.
  Result<> UnlockNetwork(Log& log);
  // The tree's user namespace: the path a task opens to join it, "" if
  // the tree stays in cryo's.
  std::string UserPath() const { return user_ ? user_->UserPath() : std::string(); }
  // Once every task has its SysV segments attached: those that were
  // removed while attached are removed again (in the tree's IPC namespace,
  // where cryo still is).
  Result<> RemoveSegments() const;
  // The mount namespace made owned by it, -1 if none.
  int MadeMnt() const { return user_ ? user_->Made(CLONE_NEWNS) : -1; }
  // The time namespace made owned by it, for the root to join (a path in
  // cryo's /proc), "" if none.
  const std::string& RootTimeNs() const { return root_time_; }

 private:
  NamespaceGuard() = default;
  Result<> MakeUser(const img::task_kobj_ids_entry& root_ids, int images_dir, const Options& opts, Log& log);
  Result<> JoinedNet(int images_dir, uint32_t id, bool own, const Options& opts, Log& log);
  struct Saved {
    int flag;
    UniqueFd fd;  // cryo's own namespace of that kind
  };
  std::vector<Saved> saved_;
  netns::NetnsLock net_lock_;  // the restore's own lock of a namespace it made
  UniqueFd net_;               // the tree's network namespace, when joined
  NetworkLock dump_lock_method_ = NetworkLock::kNftables;
  std::string dump_run_;       // the dump's run id (its lock's name)
  std::optional<UserNamespace> user_;  // destroyed after cryo is back in its own
  std::vector<int> shm_removed_;       // SysV segments to remove once attached
  std::string root_time_;
};

}  // namespace cryo::ns
