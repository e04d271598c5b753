#include "engine/mnt/nested_mounts.h"

namespace cryo::mnt {

Result<NestedMounts> NestedMounts::Make(const std::set<uint32_t>& ids, int images_dir, const Options& opts, Log& log,
                                        MountTree& root, pid_t tree_root) {
  NestedMounts n;
  for (uint32_t id : ids) {
    // Entered from the root's namespace and left for it again by Pivot.
    auto t = CRYO_TRY_CTX(MountTree::Enter(images_dir, id, opts, log, -1, &root), "mount namespace {}", id);
    // Peers across the namespaces, both ways (the root's root pivots last).
    t->AddPeers(&root);
    for (const auto& [other_id, other] : n.trees_) t->AddPeers(other.get());
    root.AddPeers(t.get());
    CRYO_TRY_CTX(t->Finish(tree_root), "mount namespace {}", id);
    CRYO_TRY_CTX(t->Pivot(), "mount namespace {}", id);
    n.trees_.emplace(id, std::move(t));
  }
  return n;
}

int NestedMounts::Ns(uint32_t id) const {
  auto it = trees_.find(id);
  return it == trees_.end() ? -1 : it->second->ns();
}

int NestedMounts::RootFd(uint32_t id) const {
  auto it = trees_.find(id);
  return it == trees_.end() ? -1 : it->second->root().fd();
}

TreeRoot NestedMounts::RootOf(const MountTree& root, int mnt_id) const {
  for (const auto& [id, t] : trees_)
    if (t->Has(mnt_id)) return t->root();
  return root.root();
}

Result<std::optional<UniqueFd>> NestedMounts::Open(const MountTree& root, const img::reg_file_entry& f,
                                                   int flags) const {
  int mnt_id = f.mnt_id();
  const MountTree* on = root.Has(mnt_id) ? &root : nullptr;
  for (const auto& [id, t] : trees_)
    if (!on && t->Has(mnt_id)) on = t.get();
  if (!on) return std::nullopt;
  return std::optional<UniqueFd>(CRYO_TRY(on->OpenOn(mnt_id, f.name(), flags)));
}

}  // namespace cryo::mnt
