#include "engine/ns/namespaces.h"

#include <fcntl.h>
#include <sched.h>
#include <unistd.h>

#include <algorithm>

#include "engine/base/files.h"
#include "engine/image/image_reader.h"
#include "engine/image/image_writer.h"
#include "engine/ns/ipc.h"
#include "engine/ns/mqueue.h"
#include "engine/ns/probe.h"
#include "engine/ns/sysv.h"
#include "engine/ns/time.h"
#include "engine/ns/uts.h"
#include "engine/image/proto/netdev.pb.h"
#include "engine/image/proto/pstree.pb.h"
#include "netns/in_netns.h"
#include "netns/netns.h"

namespace cryo::ns {

Result<NamespaceDumper> NamespaceDumper::Make(pid_t root, const Options& opts, const std::vector<pid_t>& tasks) {
  NamespaceDumper d;
  d.mnt_ = NsInode(root, "mnt");
  if (d.mnt_ != NsInode(0, "mnt")) {
    std::vector<mnt::MountInfo> ours = CRYO_TRY(mnt::ReadMountInfo(0));
    d.mounts_.emplace(CRYO_TRY(mnt::MountDumper::Make(root, opts, ours)));
    CRYO_TRY(d.NestedMounts(tasks, opts, ours));
  }
  d.root_ = root;
  d.pid_ = NsInode(root, "pid");
  d.own_pid_ = d.pid_ != NsInode(0, "pid");
  d.time_ = NsInode(root, "time");
  d.own_time_ = d.time_ != NsInode(0, "time");
  d.uts_ = NsInode(root, "uts");
  d.ipc_ = NsInode(root, "ipc");
  d.net_ = NsInode(root, "net");
  d.own_uts_ = d.uts_ != NsInode(0, "uts");
  d.own_ipc_ = d.ipc_ != NsInode(0, "ipc");
  d.own_net_ = d.net_ != NsInode(0, "net");
  d.user_ = NsInode(root, "user");
  d.cgroup_ = NsInode(root, "cgroup");
  if (d.user_ != 0 && d.user_ != NsInode(0, "user")) d.user_maps_ = CRYO_TRY(DumpUser(root));
  std::string want = fmt::format("net[{}]:", d.net_);
  for (const auto& e : opts.external)
    if (e.starts_with(want)) d.net_key_ = e.substr(want.size());
  return d;
}

// Each other mount namespace once, from its first task. Restore builds
// it on the same root filesystem as the root's (--root), so its root
// mount must be a bind of the root's.
Result<> NamespaceDumper::NestedMounts(const std::vector<pid_t>& tasks, const Options& opts,
                                       const std::vector<mnt::MountInfo>& ours) {
  const img::mnt_entry& top = mounts_->entries().front();
  for (pid_t pid : tasks) {
    uint64_t ino = NsInode(pid, "mnt");
    if (ino == 0 || ino == mnt_ ||
        std::any_of(nested_mnt_.begin(), nested_mnt_.end(), [&](const NestedMnt& n) { return n.inode == ino; }))
      continue;
    mnt::MountDumper m = CRYO_TRY_CTX(mnt::MountDumper::Make(pid, opts, ours, &*mounts_), "mount namespace of {}", pid);
    const img::mnt_entry& r = m.entries().front();
    if (r.root_dev() != top.root_dev() || !mnt::IsBelow(r.root(), top.root()))
      return MakeError(ENOTSUP, "pid {} is in a mount namespace whose root ({} on {}:{}) is not on the root's root "
                       "filesystem: not supported", pid, r.root(), r.root_dev() >> 20, r.root_dev() & 0xfffff);
    m.BindsFrom(*mounts_);
    uint32_t id = kNestedMntId + static_cast<uint32_t>(nested_mnt_.size());
    nested_mnt_.push_back({ino, id, std::move(m)});
  }
  return {};
}

Result<> NamespaceDumper::Check(pid_t pid, img::task_kobj_ids_entry& ids) const {
  UniqueFd dir = CRYO_TRY(Open(fmt::format("/proc/{}/ns", pid), O_PATH | O_DIRECTORY | O_CLOEXEC));
  // Every task in the root's user namespace (cryo's, or a child of it).
  if (NsInodeAt(dir.get(), "user") != user_)
    return MakeError(ENOTSUP, "pid {} is in another user namespace than the root {}: not supported", pid, root_);
  struct Kind {
    const char* name;
    uint64_t root;
  };
  uint32_t mnt_id = kMntId;
  if (uint64_t mnt = NsInodeAt(dir.get(), "mnt"); mnt != mnt_) {
    auto n = std::find_if(nested_mnt_.begin(), nested_mnt_.end(), [&](const NestedMnt& m) { return m.inode == mnt; });
    if (n == nested_mnt_.end())
      return MakeError(ENOTSUP, "pid {} is in another mnt namespace than the root {}{}: not supported", pid, root_,
                       mounts_ ? "" : ", which is in cryo's");
    mnt_id = n->id;
  }
  for (const Kind& k : {Kind{"pid", pid_}, Kind{"uts", uts_}, Kind{"ipc", ipc_}, Kind{"net", net_},
                        Kind{"time", time_}, Kind{"cgroup", cgroup_}})
    if (NsInodeAt(dir.get(), k.name) != k.root)
      return MakeError(ENOTSUP, "pid {} is in another {} namespace than the root {}: not supported", pid, k.name, root_);
  // After unshare(CLONE_NEWTIME) the children it forks go to another time
  // namespace than its own: nothing in the images can say so.
  uint64_t kids = NsInodeAt(dir.get(), "time_for_children");
  if (kids != 0 && kids != time_)
    return MakeError(ENOTSUP, "pid {} has a time namespace for its children other than its own: not supported", pid);
  ids.set_uts_ns_id(kUtsId);
  ids.set_ipc_ns_id(kIpcId);
  ids.set_net_ns_id(kNetId);
  ids.set_pid_ns_id(kPidId);
  ids.set_time_ns_id(kTimeId);
  ids.set_mnt_ns_id(mnt_id);
  ids.set_user_ns_id(kUserId);
  return {};
}

std::string NamespaceDumper::View() const { return mounts_ ? fmt::format("/proc/{}/root", root_) : ""; }

// A task in another mount namespace sees its files from that one's root.
std::string NamespaceDumper::ViewOf(pid_t pid, const img::task_kobj_ids_entry& ids) const {
  return ids.mnt_ns_id() == kMntId ? View() : fmt::format("/proc/{}/root", pid);
}

std::set<int> NamespaceDumper::MountIds() const {
  std::set<int> ids;
  if (mounts_)
    for (const auto& e : mounts_->entries()) ids.insert(static_cast<int>(e.mnt_id()));
  for (const auto& n : nested_mnt_)
    for (const auto& e : n.mounts.entries()) ids.insert(static_cast<int>(e.mnt_id()));
  return ids;
}

Result<> NamespaceDumper::Write(int dir, Log& log) const {
  if (user_maps_) {
    CRYO_TRY(WriteSingleEntryImage(dir, ImageKind::kUserns, kUserId, *user_maps_));
    const auto& u = user_maps_->uid_map(0);
    log.Info("user namespace: {} uid extents (first {} -> {} count {}), {} gid extents", user_maps_->uid_map_size(),
             u.first(), u.lower_first(), u.count(), user_maps_->gid_map_size());
  }
  if (own_pid_) {
    img::pidns_entry e;
    CRYO_TRY(WriteSingleEntryImage(dir, ImageKind::kPidns, kPidId, e));
    log.Info("pid namespace: the root is its PID 1");
  }
  if (mounts_) CRYO_TRY(mounts_->Write(dir, kMntId, log));
  for (const auto& n : nested_mnt_) CRYO_TRY_CTX(n.mounts.Write(dir, n.id, log), "mount namespace {}", n.id);
  if (own_time_) {
    img::timens_entry e = CRYO_TRY(DumpTime(root_));
    CRYO_TRY(WriteSingleEntryImage(dir, ImageKind::kTimens, kTimeId, e));
    log.Info("time namespace: monotonic +{} s, boottime +{} s", static_cast<int64_t>(e.monotonic().tv_sec()),
             static_cast<int64_t>(e.boottime().tv_sec()));
  }
  if (own_uts_) {
    img::utsns_entry e = CRYO_TRY(DumpUts(root_));
    CRYO_TRY(WriteSingleEntryImage(dir, ImageKind::kUtsns, kUtsId, e));
    log.Info("UTS namespace: {} / {}", e.nodename(), e.domainname());
  }
  if (own_ipc_) {
    img::ipc_var_entry e = CRYO_TRY(DumpIpcVar(root_));
    CRYO_TRY(WriteSingleEntryImage(dir, ImageKind::kIpcVar, kIpcId, e));
    CRYO_TRY_CTX(DumpSysvObjects(root_, dir, kIpcId, log), "IPC namespace of {}", root_);
  }
  if (own_net_ && !net_key_.empty()) {
    // --external net[INODE]:KEY: the caller's namespace, given back on
    // restore with --inherit-fd fd[N]:KEY; nothing of it is dumped.
    img::netns_entry e;
    e.set_ext_key(net_key_);
    CRYO_TRY(WriteSingleEntryImage(dir, ImageKind::kNetns, kNetId, e));
    log.Info("network namespace {}: external, key {}", net_, net_key_);
  } else if (own_net_) {
    UniqueFd fd = CRYO_TRY(netns::OpenNetns(root_));
    CRYO_TRY_CTX(netns::DumpNetns(fd.get(), dir, kNetId, net_lock_run_, log), "network namespace of {}", root_);
  }
  return {};
}

Result<netns::NetnsLock> LockNetwork(pid_t root, const Options& opts, std::string_view run_id, Log& log) {
  if (opts.network_lock == NetworkLock::kSkip || NsInode(root, "net") == NsInode(0, "net")) return netns::NetnsLock();
  UniqueFd fd = CRYO_TRY(netns::OpenNetns(root));
  return netns::NetnsLock::Lock(fd.get(), opts.network_lock, run_id, log);
}

namespace {

// The namespace --join-ns names for `kind`, if any: a path or a pid.
const JoinNs* JoinFor(const Options& o, std::string_view kind) {
  for (const auto& j : o.join_ns)
    if (j.ns == kind) return &j;
  return nullptr;
}

Result<UniqueFd> OpenJoin(const JoinNs& j) {
  bool pid = !j.file.empty() && std::all_of(j.file.begin(), j.file.end(), [](char c) { return c >= '0' && c <= '9'; });
  std::string path = pid ? fmt::format("/proc/{}/ns/{}", j.file, j.ns) : j.file;
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd) return ErrnoError("--join-ns {}:{}", j.ns, j.file);
  return fd;
}

}  // namespace

// The lock method and run id the dump recorded (CRIU's inventory
// numbering: 0 iptables, 1 nftables, 2 skip).
static void NoteDumpLock(int images_dir, const Options& opts, NetworkLock* method, std::string* run) {
  img::inventory_entry inv;
  *method = opts.network_lock;
  if (!ReadSingleEntryImage(images_dir, ImageKind::kInventory, 0, inv)) return;
  if (inv.has_network_lock_method())
    *method = inv.network_lock_method() == 0   ? NetworkLock::kIptables
              : inv.network_lock_method() == 2 ? NetworkLock::kSkip
                                               : NetworkLock::kNftables;
  if (inv.has_dump_criu_run_id()) *run = inv.dump_criu_run_id();
}

Result<NamespaceGuard> NamespaceGuard::Enter(const img::task_kobj_ids_entry& root_ids, int images_dir,
                                             const Options& opts, Log& log) {
  NamespaceGuard g;
  NoteDumpLock(images_dir, opts, &g.dump_lock_method_, &g.dump_run_);
  struct Kind {
    int flag;
    const char* name;
    ImageKind image;
    uint32_t id;
  };
  const Kind kinds[] = {{CLONE_NEWTIME, "time", ImageKind::kTimens, root_ids.time_ns_id()},
                        {CLONE_NEWUTS, "uts", ImageKind::kUtsns, root_ids.uts_ns_id()},
                        {CLONE_NEWIPC, "ipc", ImageKind::kIpcVar, root_ids.ipc_ns_id()},
                        {CLONE_NEWNET, "net", ImageKind::kNetns, root_ids.net_ns_id()}};
  CRYO_TRY(g.MakeUser(root_ids, images_dir, opts, log));
  for (const Kind& k : kinds) {
    const JoinNs* join = JoinFor(opts, k.name);
    bool own = false;
    if (k.id != 0) own = CRYO_TRY(ImageReader::Open(images_dir, k.image, k.id)).present();
    if (!own && !join) continue;
    // One the user namespace's helper made: its offsets set through the
    // helper, joined by the root itself (RootTimeNs) rather than by cryo,
    // whose own clocks would shift.
    if (k.flag == CLONE_NEWTIME && !join && g.user_ && g.user_->Made(CLONE_NEWTIME) >= 0) {
      img::timens_entry e;
      CRYO_TRY(ReadSingleEntryImage(images_dir, ImageKind::kTimens, k.id, e));
      CRYO_TRY_CTX(ApplyTime(e, g.user_->helper()), "time namespace");
      g.root_time_ = fmt::format("/proc/{}/ns/time_for_children", g.user_->helper());
      log.Info("created a time namespace owned by the user namespace");
      continue;
    }
    // A time namespace is for children: the one they are born in.
    std::string mine = k.flag == CLONE_NEWTIME ? "time_for_children" : k.name;
    g.saved_.push_back({k.flag, CRYO_TRY(Open(fmt::format("/proc/self/ns/{}", mine), O_RDONLY | O_CLOEXEC))});
    if (join) {
      UniqueFd fd = CRYO_TRY(OpenJoin(*join));
      if (::setns(fd.get(), k.flag) != 0) return ErrnoError("join {} namespace {}", k.name, join->file);
      log.Info("joined {} namespace {}", k.name, join->file);
      if (k.flag == CLONE_NEWNET) CRYO_TRY(g.JoinedNet(images_dir, k.id, own, opts, log));
      continue;
    }
    if (k.flag == CLONE_NEWNET) {
      // A namespace the caller made (a pod's): --inherit-fd fd[N]:KEY.
      img::netns_entry e;
      CRYO_TRY(ReadSingleEntryImage(images_dir, ImageKind::kNetns, k.id, e));
      if (e.has_ext_key()) {
        const InheritFd* in = nullptr;
        for (const auto& i : opts.inherit_fd)
          if (i.key == e.ext_key()) in = &i;
        if (!in)
          return MakeError(ENOENT, "the network namespace is external (key {}): restore with --inherit-fd fd[N]:{}",
                           e.ext_key(), e.ext_key());
        if (::setns(in->fd, CLONE_NEWNET) != 0) return ErrnoError("join the network namespace of fd {} ({})", in->fd, in->key);
        log.Info("joined the external network namespace {}", e.ext_key());
        g.net_ = CRYO_TRY(netns::OpenNetns(0));
        continue;
      }
    }
    // Made by the user namespace's helper when there is one: joined.
    int made = g.user_ ? g.user_->Made(k.flag) : -1;
    if (made >= 0 ? ::setns(made, k.flag) != 0 : ::unshare(k.flag) != 0)
      return ErrnoError("create a {} namespace", k.name);
    if (k.flag == CLONE_NEWTIME) {
      img::timens_entry e;
      CRYO_TRY(ReadSingleEntryImage(images_dir, ImageKind::kTimens, k.id, e));
      CRYO_TRY_CTX(ApplyTime(e), "time namespace");
    } else if (k.flag == CLONE_NEWUTS) {
      img::utsns_entry e;
      CRYO_TRY(ReadSingleEntryImage(images_dir, ImageKind::kUtsns, k.id, e));
      CRYO_TRY_CTX(ApplyUts(e), "UTS namespace");
    } else if (k.flag == CLONE_NEWIPC) {
      img::ipc_var_entry e;
      CRYO_TRY(ReadSingleEntryImage(images_dir, ImageKind::kIpcVar, k.id, e));
      // Limits first, the objects at their ids, then the next ids as dumped.
      // The sysctls of one a user namespace owns: as its root.
      {
        auto as = CRYO_TRY(ActAs::Begin(g.user_ ? g.user_->root_uid() : 0, g.user_ ? g.user_->root_gid() : 0));
        CRYO_TRY_CTX(ApplyIpcVar(e), "IPC namespace");
      }
      g.shm_removed_ = CRYO_TRY_CTX(RestoreSysvObjects(images_dir, k.id, log), "IPC namespace");
      CRYO_TRY_CTX(RestoreMqueues(CRYO_TRY(ReadMqueues(images_dir)), g.user_ ? g.user_->root_uid() : 0,
                                  g.user_ ? g.user_->root_gid() : 0, log),
                   "IPC namespace");
      {
        auto as = CRYO_TRY(ActAs::Begin(g.user_ ? g.user_->root_uid() : 0, g.user_ ? g.user_->root_gid() : 0));
        CRYO_TRY_CTX(ApplyIpcVar(e), "IPC namespace");
      }
    } else if (!(opts.empty_ns & CLONE_NEWNET)) {
      // Locked from the start until the tasks run (UnlockNetwork).
      UniqueFd self = CRYO_TRY(netns::OpenNetns(0));
      netns::NetnsTarget to;
      to.self_netns = self.get();
      to.host_netns = g.saved_.back().fd.get();
      to.fresh = true;
      to.lock = g.dump_lock_method_;
      g.net_lock_ = CRYO_TRY_CTX(netns::RestoreNetns(images_dir, k.id, to, opts, log), "network namespace");
    }
    log.Info("created a {} namespace", k.name);
  }
  return g;
}

Result<> NamespaceGuard::MakeUser(const img::task_kobj_ids_entry& root_ids, int images_dir, const Options& opts,
                                  Log& log) {
  const JoinNs* join = JoinFor(opts, "user");
  uint32_t id = root_ids.user_ns_id();
  bool own = id != 0 && CRYO_TRY(ImageReader::Open(images_dir, ImageKind::kUserns, id)).present();
  if (!own && !join) return {};
  img::userns_entry maps;
  if (own) CRYO_TRY(ReadSingleEntryImage(images_dir, ImageKind::kUserns, id, maps));
  UniqueFd joined;
  if (join) joined = CRYO_TRY(OpenJoin(*join));
  // The namespaces cryo would make (the loop in Enter, the mount one
  // after it), made in the user namespace so that it owns them. Not the
  // pid namespace: one with no process yet cannot be opened from /proc,
  // so the root is still born in one cryo makes (owned by cryo's). The
  // time one is joined by the root, not cryo (RootTimeNs).
  auto present = [&](ImageKind kind, uint32_t nsid) -> Result<bool> {
    return nsid != 0 && CRYO_TRY(ImageReader::Open(images_dir, kind, nsid)).present();
  };
  int flags = 0;
  if (!JoinFor(opts, "uts") && CRYO_TRY(present(ImageKind::kUtsns, root_ids.uts_ns_id()))) flags |= CLONE_NEWUTS;
  if (!JoinFor(opts, "time") && CRYO_TRY(present(ImageKind::kTimens, root_ids.time_ns_id()))) flags |= CLONE_NEWTIME;
  if (!JoinFor(opts, "ipc") && CRYO_TRY(present(ImageKind::kIpcVar, root_ids.ipc_ns_id()))) flags |= CLONE_NEWIPC;
  if (!JoinFor(opts, "net") && CRYO_TRY(present(ImageKind::kNetns, root_ids.net_ns_id()))) {
    img::netns_entry e;
    CRYO_TRY(ReadSingleEntryImage(images_dir, ImageKind::kNetns, root_ids.net_ns_id(), e));
    if (!e.has_ext_key()) flags |= CLONE_NEWNET;
  }
  if (CRYO_TRY(present(ImageKind::kMountpoints, root_ids.mnt_ns_id()))) flags |= CLONE_NEWNS;
  user_.emplace(CRYO_TRY_CTX(UserNamespace::Make(maps, joined ? joined.get() : -1, flags), "user namespace"));
  if (join)
    log.Info("joined user namespace {}", join->file);
  else
    log.Info("created a user namespace: uid map {}", FormatIdMap(maps.uid_map()).substr(0, 40));
  return {};
}

Result<> NamespaceGuard::JoinedNet(int images_dir, uint32_t id, bool own, const Options& opts, Log& log) {
  net_ = CRYO_TRY(netns::OpenNetns(0));
  img::netns_entry e;
  if (!own) return {};
  CRYO_TRY(ReadSingleEntryImage(images_dir, ImageKind::kNetns, id, e));
  if (e.has_ext_key()) return {};
  // Someone made it (a pod's, with a CNI plugin's veth): the dumped
  // devices found there by name get their missing addresses and routes.
  netns::NetnsTarget to;
  to.self_netns = net_.get();
  to.fresh = false;
  CRYO_TRY_CTX(netns::RestoreNetns(images_dir, id, to, opts, log), "joined network namespace");
  return {};
}

Result<> NamespaceGuard::RemoveSegments() const { return ns::RemoveSegments(shm_removed_); }

Result<> NamespaceGuard::UnlockNetwork(Log& log) {
  CRYO_TRY(net_lock_.Unlock());
  if (net_ && !dump_run_.empty()) CRYO_TRY(netns::UnlockLeftover(net_.get(), dump_lock_method_, dump_run_, log));
  return {};
}

NamespaceGuard::~NamespaceGuard() {
  for (auto it = saved_.rbegin(); it != saved_.rend(); ++it)
    if (it->fd) (void)::setns(it->fd.get(), it->flag);
}

}  // namespace cryo::ns
