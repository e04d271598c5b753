// The fd tables of a tree: fdinfo-ID.img per table, and every open file
// description they hold in files.img (regular files, directories, devices,
// unlinked files, memfds, pipes, FIFOs, eventfds, unix and IP sockets),
// with the data queued in pipes, FIFOs and sockets. A kind this build cannot restore stops
// the dump with a clear error naming the pid, fd and kind.
#pragma once

#include <sys/types.h>

#include <functional>
#include <map>
#include <tuple>
#include <set>
#include <vector>

#include "engine/base/log.h"
#include "engine/base/result.h"
#include "engine/dump/file_remap.h"
#include "engine/dump/file_table.h"
#include "engine/dump/inet_socket.h"
#include "engine/dump/memfd.h"
#include "engine/dump/netlink_socket.h"
#include "engine/dump/packet_socket.h"
#include "engine/dump/pty.h"
#include "engine/dump/tun_file.h"
#include "engine/dump/pid_map.h"
#include "engine/dump/unix_socket.h"
#include "engine/image/proto/files.pb.h"
#include "engine/image/proto/pipe.pb.h"
#include "engine/options/options.h"

namespace cryo {

class FdDumper {
 public:
  FdDumper(const Options& opts, int dir, FileTable& files, MemfdTable& memfds)
      : opts_(opts), dir_(dir), files_(files), memfds_(memfds), unix_(opts), inet_(opts, dir), remaps_(opts, dir) {}
  // The tree's network namespace, where its sockets are looked up.
  void SetNetnsOf(pid_t pid);
  // Where connections taken into repair mode are kept (--tcp-established).
  void SetRepaired(RepairedConnections* r) { inet_.SetRepaired(r); }
  void SetView(std::string view) { view_ = std::move(view); }
  // The task dumped next is in a mount namespace other than the root's.
  void SetOtherMntNs(bool other) { other_mnt_ns_ = other; }
  // The ids of the tree's own mounts: its files record theirs.
  void SetMounts(std::set<int> ids) { mounts_ = std::move(ids); }
  // Where POSIX message queues live (ns::MqueueDevs).
  void SetMqueueDevs(std::set<dev_t> devs) { mqueue_devs_ = std::move(devs); }
  // The pids images name tasks by (a tree in its own pid namespace).
  void SetPidMap(const PidMap* pids) {
    pids_ = pids;
    ptys_.SetPidMap(pids);
  }

  // Owners for SIGIO: `of(type, pid)` gives the pid the images name the
  // owner by (F_OWNER_TID, _PID, _PGRP as cryo sees it), 0 when it is not
  // in the tree; such an owner is dropped, with a warning in `log`.
  void SetOwners(std::function<pid_t(int type, pid_t pid)> of, Log* log) {
    owner_of_ = std::move(of);
    log_ = log;
  }

  // Looks through the tree's fds for pty masters first.
  Result<> FindPtys(const std::vector<pid_t>& pids) { return ptys_.Find(pids, opts_.orphan_pts_master); }
  // Writes fdinfo-<files_id>.img for the fd table of `pid`.
  Result<> DumpTable(pid_t pid, uint32_t files_id);
  // File `id` is a path below /proc/PID of `pid`, which has exited: a
  // PROCFS remap names the pid.
  void AddDeadProc(uint32_t id, pid_t pid) {
    img::remap_file_path_entry r;
    r.set_orig_id(id);
    r.set_remap_id(static_cast<uint32_t>(pid));
    r.set_remap_type(img::PROCFS);
    remaps_.Add(r);
  }
  // A file the tree reaches by path only (cwd, root, exe, a mapping):
  // `link` as /proc shows it, `proc` where cryo reaches it. Shared by name,
  // or by inode once unlinked (then remapped, file_remap.h).
  Result<uint32_t> ByPath(std::string link, const std::string& proc, uint32_t flags);
  // remap-fpath.img, pipes-data.img, fifo-data.img.
  Result<> Finish();
  // The dump is complete (its inventory written): what it made on the
  // tree's filesystems (links of --link-remap) stays for the restore;
  // otherwise it goes with this dumper.
  void Complete() { remaps_.Keep(); }
  // The files that are POSIX message queues: id and the queue's name.
  const std::vector<std::pair<uint32_t, std::string>>& mqueue_files() const { return mqueue_files_; }

 private:
  // Whether `link` names a file no longer there (" (deleted)" is cut off then).
  bool Gone(std::string& link, const struct stat& st) const;
  Result<> Reachable(pid_t pid, int fd, const std::string& path, const struct stat& st, int mnt_id) const;
  Result<uint32_t> DumpFile(pid_t pid, int fd, const std::string& link, const struct stat& st,
                            uint32_t flags, uint64_t pos, int mnt_id, img::fd_types* type);
  Result<> PipeData(uint32_t ino, const std::string& proc, bool fifo);
  // The owner of a new file description for SIGIO (file_owner.h).
  Result<> DumpOwner(int pidfd, pid_t pid, int fd, uint32_t id);
  // A file in flight on a unix socket, received by a peek as fd `ours`.
  Result<uint32_t> InFlight(int ours, pid_t holder);
  Result<> EpollTargets(pid_t pid, int fd, img::eventpoll_file_entry* e) const;

  const Options& opts_;
  int dir_;
  FileTable& files_;
  MemfdTable& memfds_;
  UnixSockets unix_;
  InetSockets inet_;
  NetlinkSockets netlink_;
  PacketSockets packet_;
  const PidMap* pids_ = nullptr;
  std::function<pid_t(int, pid_t)> owner_of_;
  Log* log_ = nullptr;
  Ptys ptys_;
  TunFileWhere tun_where_;
  FileRemaps remaps_;
  std::map<std::tuple<dev_t, ino_t, uint32_t>, uint32_t> gone_by_inode_;  // ByPath's unlinked files
  struct UnlinkedWatch {
    pid_t pid;
    int fd;
    uint32_t wd, s_dev;  // s_dev as the kernel encodes it
    uint64_t ino;
  };
  std::vector<UnlinkedWatch> unlinked_watches_;
  std::vector<img::file_lock_entry> locks_;
  std::set<uint32_t> pipes_seen_;
  pid_t in_flight_holder_ = 0;  // while a file in flight is dumped: the task whose socket holds it
  std::string view_;  // where cryo reaches the tree's paths
  std::set<int> mounts_;
  bool other_mnt_ns_ = false;
  // Unlinked inodes: the path and the fd they were first seen at, and
  // whether that task was in another mount namespace.
  struct GhostSeen {
    std::string path, where;
    bool other_mnt_ns = false;
  };
  std::map<std::pair<dev_t, ino_t>, GhostSeen> ghosts_seen_;
  std::set<dev_t> mqueue_devs_;
  std::set<uint32_t> in_flight_;  // ids of files only in flight
  struct Queued {
    img::pipe_data_entry entry;
    std::string data;
    bool fifo;
  };
  std::vector<Queued> queued_;
  std::vector<std::pair<uint32_t, std::string>> mqueue_files_;
};

}  // namespace cryo
