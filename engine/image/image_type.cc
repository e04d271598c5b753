#include "engine/image/image_type.h"

#include <array>

#include <fmt/format.h>

namespace cryo {
namespace {

using K = ImageKind;
using F = Framing;

// Indexed by ImageKind; a static_assert below keeps the two in step.
constexpr std::array kTypes = {
    ImageType{K::kInventory, "INVENTORY", 0x58313116, F::kInventory, "inventory.img", false, "inventory_entry"},
    ImageType{K::kPstree, "PSTREE", 0x50273030, F::kCommon, "pstree.img", false, "pstree_entry"},
    ImageType{K::kCore, "CORE", 0x55053847, F::kCommon, "core-{}.img", false, "core_entry"},
    ImageType{K::kIds, "IDS", 0x54432030, F::kCommon, "ids-{}.img", false, "task_kobj_ids_entry"},
    ImageType{K::kMm, "MM", 0x57492820, F::kCommon, "mm-{}.img", false, "mm_entry"},
    ImageType{K::kFs, "FS", 0x51403912, F::kCommon, "fs-{}.img", false, "fs_entry"},
    ImageType{K::kPagemap, "PAGEMAP", 0x56084025, F::kCommon, "pagemap-{}.img", false, "pagemap_entry"},
    ImageType{K::kShmemPagemap, "PAGEMAP", 0x56084025, F::kCommon, "pagemap-shmem-{}.img", false, "pagemap_entry"},
    ImageType{K::kPages, "PAGES", 0, F::kRaw, "pages-{}.img", false, ""},
    ImageType{K::kFdinfo, "FDINFO", 0x56213732, F::kCommon, "fdinfo-{}.img", false, "fdinfo_entry"},
    ImageType{K::kFiles, "FILES", 0x56303138, F::kCommon, "files.img", false, "file_entry"},
    ImageType{K::kRemapFpath, "REMAP_FPATH", 0x59133954, F::kCommon, "remap-fpath.img", false, "remap_file_path_entry"},
    ImageType{K::kGhostFile, "GHOST_FILE", 0x52583605, F::kCommon, "ghost-file-{}.img", true, "ghost_file_entry"},
    ImageType{K::kPipesData, "PIPES_DATA", 0x56453709, F::kCommon, "pipes-data.img", false, "pipe_data_entry"},
    ImageType{K::kFifoData, "FIFO_DATA", 0x59333054, F::kCommon, "fifo-data.img", false, "pipe_data_entry"},
    ImageType{K::kSkQueues, "SK_QUEUES", 0x56264026, F::kCommon, "sk-queues.img", false, "sk_packet_entry"},
    ImageType{K::kTcpStream, "TCP_STREAM", 0x51465506, F::kCommon, "tcp-stream-{}.img", true, "tcp_stream_entry"},
    ImageType{K::kTtyInfo, "TTY_INFO", 0x59453036, F::kCommon, "tty-info.img", false, "tty_info_entry"},
    ImageType{K::kTtyData, "TTY_DATA", 0x59413026, F::kCommon, "tty-data.img", false, "tty_data_entry"},
    ImageType{K::kFileLocks, "FILE_LOCKS", 0x54323616, F::kCommon, "filelocks.img", false, "file_lock_entry"},
    ImageType{K::kCgroup, "CGROUP", 0x59383330, F::kCommon, "cgroup.img", false, "cgroup_entry"},
    ImageType{K::kSeccomp, "SECCOMP", 0x64413049, F::kCommon, "seccomp.img", false, "seccomp_entry"},
    ImageType{K::kApparmor, "APPARMOR", 0x59423047, F::kCommon, "apparmor.img", false, "apparmor_entry"},
    ImageType{K::kMemfdInode, "MEMFD_INODE", 0x48453499, F::kCommon, "memfd.img", false, "memfd_inode_entry"},
    ImageType{K::kCpuinfo, "CPUINFO", 0x61404013, F::kCommon, "cpuinfo.img", false, "cpuinfo_entry"},
    ImageType{K::kMountpoints, "MNTS", 0x55563928, F::kCommon, "mountpoints-{}.img", false, "mnt_entry"},
    ImageType{K::kUtsns, "UTSNS", 0x54473203, F::kCommon, "utsns-{}.img", false, "utsns_entry"},
    ImageType{K::kIpcVar, "IPC_VAR", 0x53115007, F::kCommon, "ipcns-var-{}.img", false, "ipc_var_entry"},
    ImageType{K::kIpcShm, "IPCNS_SHM", 0x46283044, F::kCommon, "ipcns-shm-{}.img", false, "ipc_shm_entry"},
    ImageType{K::kIpcMsg, "IPCNS_MSG", 0x55453737, F::kCommon, "ipcns-msg-{}.img", false, "ipc_msg_entry"},
    ImageType{K::kIpcSem, "IPCNS_SEM", 0x59573019, F::kCommon, "ipcns-sem-{}.img", false, "ipc_sem_entry"},
    ImageType{K::kUserns, "USERNS", 0x55474906, F::kCommon, "userns-{}.img", false, "userns_entry"},
    ImageType{K::kTimens, "TIMENS", 0x43114433, F::kCommon, "timens-{}.img", false, "timens_entry"},
    ImageType{K::kPidns, "PIDNS", 0x61157326, F::kCommon, "pidns-{}.img", false, "pidns_entry"},
    ImageType{K::kNetns, "NETNS", 0x55933752, F::kCommon, "netns-{}.img", false, "netns_entry"},
    ImageType{K::kNetdev, "NETDEV", 0x57373951, F::kCommon, "netdev-{}.img", false, "net_device_entry"},
    ImageType{K::kIfaddr, "IFADDR", 0, F::kRaw, "ifaddr-{}.img", false, ""},
    ImageType{K::kRoute, "ROUTE", 0, F::kRaw, "route-{}.img", false, ""},
    ImageType{K::kRoute6, "ROUTE6", 0, F::kRaw, "route6-{}.img", false, ""},
    ImageType{K::kRule, "RULE", 0, F::kRaw, "rule-{}.img", false, ""},
    ImageType{K::kIptables, "IPTABLES", 0, F::kRaw, "iptables-{}.img", false, ""},
    ImageType{K::kIp6tables, "IP6TABLES", 0, F::kRaw, "ip6tables-{}.img", false, ""},
    ImageType{K::kNftables, "NFTABLES", 0, F::kRaw, "nftables-{}.img", false, ""},
    ImageType{K::kTmpfsDev, "TMPFS_DEV", 0, F::kRaw, "tmpfs-dev-{}.tar.gz.img", false, ""},
    ImageType{K::kAutofs, "AUTOFS", 0x49353943, F::kCommon, "autofs-{}.img", false, "autofs_entry"},
    ImageType{K::kBinfmtMisc, "BINFMT_MISC", 0x67343323, F::kCommon, "binfmt-misc.img", false, "binfmt_misc_entry"},
    ImageType{K::kBpfmapData, "BPFMAP_DATA", 0x64324033, F::kCommon, "bpfmap-data.img", false, "bpfmap_data_entry"},
    // cryo's own, RAW so that crit leaves it alone (it has no magic for it).
    ImageType{K::kPosixMq, "POSIX_MQ", 0, F::kRaw, "posix-mq.img", false, ""},
    ImageType{K::kStatsDump, "STATS", 0x57093306, F::kService, "stats-dump", false, "stats_entry"},
    ImageType{K::kStatsRestore, "STATS", 0x57093306, F::kService, "stats-restore", false, "stats_entry"},
    ImageType{K::kIrmapCache, "IRMAP_CACHE", 0x57004059, F::kService, "irmap-cache", false, "irmap_cache_entry"},
};

constexpr bool TableInOrder() {
  for (size_t i = 0; i < kTypes.size(); i++)
    if (static_cast<size_t>(kTypes[i].kind) != i) return false;
  return kTypes.back().kind == K::kIrmapCache;
}
static_assert(TableInOrder(), "kTypes must list every ImageKind in enum order");

// Magics crit knows that cryo has no ImageKind for: legacy per-object images
// and kinds not written yet. Shown by `cryo show`, never written.
constexpr std::array<MagicInfo, 27> kOtherMagics = {{
    {"VMAS", 0x54123737, "vma_entry"},
    {"PIPES", 0x56513555, "pipe_entry"},
    {"FIFO", 0x58364939, "fifo_entry"},
    {"SIGACT", 0x55344201, "sa_entry"},
    {"UNIXSK", 0x54373943, "unix_sk_entry"},
    {"INETSK", 0x56443851, "inet_sk_entry"},
    {"PACKETSK", 0x60454618, "packet_sock_entry"},
    {"ITIMERS", 0x57464056, "itimer_entry"},
    {"POSIX_TIMERS", 0x52603957, "posix_timer_entry"},
    {"CREDS", 0x54023547, "creds_entry"},
    {"REG_FILES", 0x50363636, "reg_file_entry"},
    {"EXT_FILES", 0x59255641, "ext_file_entry"},
    {"EVENTFD_FILE", 0x44523722, "eventfd_file_entry"},
    {"EVENTPOLL_FILE", 0x45023858, "eventpoll_file_entry"},
    {"EVENTPOLL_TFD", 0x44433746, "eventpoll_tfd_entry"},
    {"SIGNALFD", 0x57323820, "signalfd_entry"},
    {"INOTIFY_FILE", 0x48424431, "inotify_file_entry"},
    {"INOTIFY_WD", 0x54562009, "inotify_wd_entry"},
    {"TTY_FILES", 0x59433025, "tty_file_entry"},
    {"RLIMIT", 0x57113925, "rlimit_entry"},
    {"FANOTIFY_FILE", 0x55096122, "fanotify_file_entry"},
    {"FANOTIFY_MARK", 0x56506035, "fanotify_mark_entry"},
    {"NETLINK_SK", 0x58005614, "netlink_sk_entry"},
    {"NS_FILES", 0x61394011, "ns_file_entry"},
    {"TUNFILE", 0x57143751, "tunfile_entry"},
    {"TIMERFD", 0x50493712, "timerfd_entry"},
    {"BPFMAP_FILE", 0x57506142, "bpfmap_file_entry"},
}};

}  // namespace

const ImageType& TypeOf(ImageKind kind) { return kTypes[static_cast<size_t>(kind)]; }

std::string ImageFileName(ImageKind kind, uint64_t id) {
  const ImageType& t = TypeOf(kind);
  size_t at = t.file.find("{}");
  if (at == std::string_view::npos) return std::string(t.file);
  std::string idtext = t.hex_id ? fmt::format("{:x}", id) : fmt::format("{}", id);
  std::string out(t.file.substr(0, at));
  out += idtext;
  out += t.file.substr(at + 2);
  return out;
}

std::optional<MagicInfo> LookupMagic(uint32_t magic) {
  if (magic == 0) return std::nullopt;
  for (const ImageType& t : kTypes)
    if (t.magic == magic) return MagicInfo{t.name, t.magic, t.message};
  for (const MagicInfo& m : kOtherMagics)
    if (m.magic == magic) return m;
  return std::nullopt;
}

}  // namespace cryo
