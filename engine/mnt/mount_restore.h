// Restore of a tree's own mount namespace (mountpoints-N.img).
//
// cryo makes a new mount namespace, private throughout, and builds the
// dumped mount tree there on a bind of --root, with the new mount API:
// every mount is made detached (fsopen/fsmount, or open_tree for a bind)
// and attached by fd (move_mount), so nothing is reached by joining
// paths. The mounts are made once the tree's root task exists (born in
// the namespace, with cryo's root): a proc belongs to a pid namespace
// (the `pidns` option names the root's). Flags and propagation come
// last, once every mount point exists. Pivot makes the built tree the
// namespace's root (every task there follows it) and takes cryo back to
// its own namespace. Until then the tasks still see cryo's files (the
// images, /proc) and reach the tree's through its root fd.
#pragma once

#include <sys/types.h>

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "engine/base/log.h"
#include "engine/base/result.h"
#include "engine/base/unique_fd.h"
#include "engine/image/proto/namespaces.pb.h"
#include "engine/mnt/mountinfo.h"
#include "engine/mnt/tree_root.h"
#include "engine/options/options.h"

namespace cryo::mnt {

class MountTree {
 public:
  // Enters a new mount namespace, the tree's root bound from --root.
  // `made_ns`: one made already (owned by the tree's user namespace,
  // engine/ns/user.h), entered instead.
  // `outer`: for another mount namespace of the tree, the root's tree
  // (finished, cryo still inside): this one is made from it, its root a
  // bind of outer's root and its mounts of outer's filesystems binds of
  // those.
  static Result<std::unique_ptr<MountTree>> Enter(int images_dir, uint32_t ns_id, const Options& opts, Log& log,
                                                  int made_ns = -1, const MountTree* outer = nullptr);
  ~MountTree();  // back to cryo's own namespace if Pivot did not run

  // Every mount, once the tree's root task `root` exists; then mount
  // flags and propagation.
  Result<> Finish(pid_t root);
  Result<> Pivot();

  TreeRoot root() const { return TreeRoot(root_fd_.get()); }
  // The master of pty `index` if it was made for a bind of its slave.
  UniqueFd TakePty(uint32_t index);
  // A file of dumped mount `mnt_id` at `path` (as the tree sees it) that
  // its path no longer leads to, a later mount being over it: opened
  // through its mount. Nothing when the path leads there (or the mount is
  // not one of the tree's): the file is opened by path as any other.
  Result<std::optional<UniqueFd>> OpenHidden(int mnt_id, const std::string& path, int flags) const;
  // Whether dumped mount `mnt_id` is one of this tree's.
  bool Has(int mnt_id) const;
  // A file of one of its mounts, opened by cryo on that very mount.
  Result<UniqueFd> OpenOn(int mnt_id, const std::string& path, int flags) const;
  // Another tree of the same restore whose mounts may be peers of this
  // one's (mount propagation across namespaces).
  void AddPeers(const MountTree* other) { others_.push_back(other); }
  // The namespace, once made (kept after Pivot for the tasks to join).
  int ns() const { return ns_.get(); }

 private:
  struct Node {
    img::mnt_entry e;
    int parent = -1;   // index in nodes_
    bool anew = false;  // made by fsopen (superblock flags are its own)
    UniqueFd mnt;       // the mount, once made
    UniqueFd anchor;    // external, its master outside: a copy of its source in cryo's namespace
    UniqueFd gone_in;   // a removed root made again in this directory, removed once attached
    std::string gone_name;
    bool gone_dir = false;
  };
  MountTree(const Options& opts, Log& log) : opts_(opts), log_(log) {}
  Result<> Plan(std::vector<img::mnt_entry> entries);
  const img::mnt_entry* OuterSource(const img::mnt_entry& e) const;
  // A mount of peer group `group` in another tree of the restore, made
  // before, that `e` can join: same filesystem, its root above e's.
  const Node* WidePeer(uint32_t group, const img::mnt_entry& e) const;
  Result<> Make(Node& n, int pidns);
  Result<UniqueFd> Source(Node& n, int pidns);
  Result<UniqueFd> MountPoint(const Node& n, bool dir);
  Result<> MakePty(int devpts, const std::string& name);
  Result<UniqueFd> CloneInOwnNs(const std::string& path);
  Result<UniqueFd> CloneDeleted(Node& n, const Node& from, const std::string& rel);
  Result<> SetFlags(Node& n);
  Result<> SetPropagation();
  Result<> Leave();

  const Options& opts_;
  Log& log_;
  int images_dir_ = -1;
  std::vector<Node> nodes_;
  std::vector<size_t> order_;  // the order mounts are made in (all but the root)
  std::vector<MountInfo> ours_;  // cryo's mounts, where external ones come from
  UniqueFd own_ns_, own_cwd_, root_fd_, ns_;
  // Outer's root as copied into this namespace, and outer's mounts: where
  // binds of outer's filesystems come from.
  UniqueFd outer_root_;
  std::vector<img::mnt_entry> outer_;
  std::vector<const MountTree*> others_;
  std::map<uint32_t, UniqueFd> ptys_;  // masters made for binds, by index
  bool inside_ = false;
};

}  // namespace cryo::mnt
