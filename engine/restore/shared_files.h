// Files that restored tasks cannot open by a path of their own (pipes,
// FIFOs' shared descriptions, eventfds), and regular files whose one open
// description several processes hold (an offset they share): cryo creates each open file
// description once, in itself, with its state (queued bytes, buffer size,
// counter, status flags), and every task that had it takes that same
// description with pidfd_getfd. cryo closes its copies when the restore is
// over.
#pragma once

#include <functional>
#include <string_view>
#include <optional>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "engine/base/result.h"
#include "engine/base/unique_fd.h"
#include "engine/options/options.h"
#include "engine/restore/image_set.h"
#include "engine/restore/tcp_stream.h"

#include "engine/mnt/tree_root.h"

namespace cryo {

class SharedFiles {
 public:
  // Where cryo opens a regular file or memfd of the dump (ghosts and memfds
  // are recreated elsewhere).
  using PathOf = std::function<Result<std::string>(uint32_t id)>;
  // `inherit`: --inherit-fd: cryo's own fds standing for files outside the
  // dump ("pipe:[INO]": every end of that pipe the tasks had;
  // "socket:[INO]": that unix socket, whose peer was outside).
  // `root`: where the tree's paths are.
  // `premade_pty(index)`: a pty master made with the tree's mounts.
  // `hidden(file)`: the file opened through its mount when another mount
  // covers its path (mnt::MountTree::OpenHidden), nothing otherwise.
  using Hidden = std::function<Result<std::optional<UniqueFd>>(const img::reg_file_entry& f, int flags)>;
  Result<> Create(const ImageSet& s, const PathOf& path_of, const std::vector<InheritFd>& inherit,
                  const mnt::TreeRoot& root = {}, const std::function<UniqueFd(uint32_t)>& premade_pty = {},
                  const Hidden& hidden = {});
  // Where the ghost of an unlinked inode (dev as the kernel encodes it) was
  // made, for inotify watches on it; null when none was. Set before Create.
  using GhostOf = std::function<const std::string*(uint32_t dev, uint64_t ino)>;
  void SetGhostOf(GhostOf ghost_of) { ghost_of_ = std::move(ghost_of); }
  // What needs the restored processes to exist: pidfds, and shared files of
  // /proc/PID of processes forked after the root (`root` as for Create).
  Result<> CreateAfterFork(const ImageSet& s, const std::function<pid_t(pid_t)>& host_of,
                           const mnt::TreeRoot& root = {});
  // The stand-ins for exited processes whose /proc dirs the tasks hold go
  // (once every task is built; also when the restore fails).
  void ReleaseDeadProcs();
  ~SharedFiles() { ReleaseDeadProcs(); }
  // "/proc/PID" or below it.
  static bool IsProcPidPath(std::string_view path);
  // Connections of the dump come back closed, shut down both ways
  // (--tcp-close), not rebuilt.
  void SetTcpClose(bool on) { tcp_close_ = on; }
  // TCP connections leave repair mode: every socket of the tree exists.
  Result<> ResumeConnections() { return tcp_.Resume(); }
  bool HasConnections() const { return !tcp_.empty(); }
  // cryo's fd for file `id`, or -1 when the file is opened by path.
  // Masters of ptys whose slave only the tree held (orphan-pts-master).
  const std::vector<UniqueFd>& orphan_masters() const { return orphan_masters_; }
  int FdOf(uint32_t id) const {
    auto it = fds_.find(id);
    return it == fds_.end() ? -1 : it->second.get();
  }

 private:
  Result<> CreatePipes(const ImageSet& s);
  Result<> CreateFifos(const ImageSet& s, const PathOf& path_of, const mnt::TreeRoot& root);

  Result<> CreateRegular(const ImageSet& s, const PathOf& path_of, const mnt::TreeRoot& root);
  Result<> CreateHidden(const ImageSet& s, const PathOf& path_of, const Hidden& hidden);
  Result<> Inherit(const ImageSet& s, const std::vector<InheritFd>& inherit);
  Result<> OpenDeadProcs(const ImageSet& s, const std::function<pid_t(pid_t)>& host_of, const mnt::TreeRoot& root);
  // File `id` is `fd`, at offset `pos`.
  Result<> OpenedAt(uint32_t id, UniqueFd fd, const std::string& path, uint32_t flags, uint64_t pos);

  std::map<uint32_t, UniqueFd> fds_;   // by file id
  std::map<uint32_t, UniqueFd> holds_;  // by FIFO inode: keeps it open, both ends
  std::set<uint32_t> inherited_;        // file ids --inherit-fd gave
  std::vector<UniqueFd> orphan_masters_;
  TcpConnections tcp_;
  bool tcp_close_ = false;
  GhostOf ghost_of_;
  struct Later {
    uint32_t id;
    std::string path;
    uint32_t flags;
    uint64_t pos;
  };
  std::vector<Later> later_;  // opened by CreateAfterFork
  std::vector<pid_t> stand_ins_;  // children of cryo with the pids of exited processes
};

}  // namespace cryo
