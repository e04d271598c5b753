#include "engine/restore/restore.h"

#include "netns/lock.h"
// Before <signal.h>: it defines a sigmask() macro that the generated
// signalfd_entry::sigmask() accessor would trip on.
#include "engine/restore/image_set.h"
#include "engine/restore/lazy_pages.h"

#include <asm/prctl.h>
#include <linux/sched.h>
#include <linux/openat2.h>
#include <fcntl.h>
#include <linux/prctl.h>
#include <linux/seccomp.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/resource.h>
#include <sys/shm.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <map>
#include <optional>
#include <set>

#include "arch/x86_64/regs.h"
#include "cgroups/restore.h"
#include "engine/mnt/mount_restore.h"
#include "engine/mnt/nested_mounts.h"
#include "engine/ns/namespaces.h"
#include "engine/restore/pidns_init.h"
#include "engine/base/cpu_pin.h"
#include "engine/base/files.h"
#include "engine/base/steps.h"
#include "engine/proc/proc.h"
#include "engine/restore/file_owner.h"
#include "engine/restore/fork_tree.h"
#include "engine/restore/ghosts.h"
#include "engine/restore/shared_memory.h"
#include "engine/restore/shared_files.h"
#include "engine/image/image_reader.h"
#include "engine/image/image_type.h"
#include "arch/x86_64/syscall_batch.h"
#include "parasite/batch.h"
#include "parasite/remote.h"
#include "engine/base/linux_compat.h"


namespace cryo {
namespace {

constexpr uint64_t kPage = 4096;
// Code page + scratch pages, mapped in the new task while it is built.
constexpr uint64_t kTrampSize = 16 * kPage;
// The batch code's place in the trampoline's code page.
constexpr uint64_t kBatchCode = 64;
constexpr uint32_t kVdsoBits = (1u << 3) | (1u << 12);  // VMA_AREA_VDSO | VVAR
constexpr uint32_t kVsyscall = 1u << 2;
constexpr uint32_t kFileShared = 1u << 7, kFilePrivate = 1u << 6, kMemfd = 1u << 14, kAnonShared = 1u << 8;
constexpr uint32_t kSysvIpc = 1u << 10;
constexpr uint32_t kGuard = 1u << 16;  // a guard region (MADV_GUARD_INSTALL), not a mapping

bool Overlaps(uint64_t a, uint64_t alen, uint64_t b, uint64_t blen) { return a < b + blen && b < a + alen; }

// A place for the trampoline that no dumped mapping uses; mapped here so
// the forked child inherits it, code already written.
Result<uint64_t> MapTrampoline(const ImageSet& s) {
  for (uint64_t hint = 0x100000000ULL; hint < 0x7f0000000000ULL; hint += 0x10000000000ULL) {
    void* p = ::mmap(reinterpret_cast<void*>(hint), kTrampSize, PROT_READ | PROT_WRITE | PROT_EXEC,
                     MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
    if (p == MAP_FAILED) continue;
    auto a = reinterpret_cast<uint64_t>(p);
    bool clash = false;
    for (const auto& t : s.tasks)
      for (const auto& v : t.mm.vmas())
        if (Overlaps(a, kTrampSize, v.start(), v.end() - v.start())) clash = true;
    if (clash) {
      ::munmap(p, kTrampSize);
      continue;
    }
    std::memcpy(p, x86::kSyscallInsn, sizeof x86::kSyscallInsn);
    std::memcpy(static_cast<char*>(p) + kBatchCode, x86::kSyscallBatch, sizeof x86::kSyscallBatch);
    return a;
  }
  return MakeError(ENOMEM, "no room for the restore trampoline");
}

// Builds the task: everything runs as syscalls inside it.
class Builder {
 public:
  Builder(RemoteTask& t, const ImageSet& s, const TaskImages& ti, uint64_t tramp, Log& log,
          const Ghosts* ghosts = nullptr, Memfds* memfds = nullptr, const SharedFiles* shared = nullptr)
      : t_(t), s_(s), ti_(ti), scratch_(tramp + kPage), log_(log), ghosts_(ghosts), memfds_(memfds),
        shared_(shared) {}

  Result<uint64_t> Put(const void* data, size_t len) {
    if (used_ + len > kTrampSize - kPage) return MakeError(E2BIG, "scratch area full");
    uint64_t at = scratch_ + used_;
    CRYO_TRY(t_.Write(at, data, len));
    used_ += (len + 15) & ~size_t{15};
    return at;
  }
  void ResetScratch() { used_ = 0; }
  // The fd every task inherits from cryo (a pidfd of cryo's, fd number
  // above all the dumped ones): how it takes cryo's files.
  void set_cryo_fd(int fd) { cryo_fd_ = fd; }
  // The task's fd for the tree's root (its own mount tree), -1 if the
  // tree shares cryo's: the paths the images name resolve from it.
  void set_tree_fd(int fd) { tree_fd_ = fd; }

  // `in_tree`: a path of the tree's (an image's file name), not one of
  // cryo's (the images, cryo's /proc).
  // Where a file of files.img is opened: its ghost or link, else its name.
  Result<std::string> PathOfFile(uint32_t id) const {
    if (const std::string* remapped = ghosts_ ? ghosts_->PathOf(id) : nullptr) return *remapped;
    return std::string(CRYO_TRY(s_.File(id))->name());
  }

  Result<long> Open(const std::string& path, uint32_t flags, bool in_tree = false) {
    ResetScratch();
    uint64_t p = CRYO_TRY(Put(path.c_str(), path.size() + 1));
    if (in_tree && tree_fd_ >= 0) {
      open_how how{};
      how.flags = flags;
      how.resolve = RESOLVE_IN_ROOT;
      uint64_t h = CRYO_TRY(Put(&how, sizeof how));
      return CRYO_TRY_CTX(t_.Check("openat2", SYS_openat2, static_cast<uint64_t>(tree_fd_), p, h, sizeof how),
                          "open {}", path);
    }
    return CRYO_TRY_CTX(t_.Check("openat", SYS_openat, static_cast<uint64_t>(AT_FDCWD), p, flags, 0),
                        "open {}", path);
  }

  // Root, cwd and umask of a task in a mount tree of its own: through the
  // tree's root fd (its root is still cryo's: the tree becomes the
  // namespace's root when it pivots, and roots equal to it follow).
  Result<> TreeFs(const std::string& root, const std::string& cwd) {
    if (root != "/") {
      long fd = CRYO_TRY(Open(root, O_PATH | O_DIRECTORY | O_CLOEXEC, true));
      // "." past the batch's table.
      CRYO_TRY(t_.Write(scratch_ + 4096, ".", 2));
      SyscallBatch b;
      b.Add(SYS_fchdir, static_cast<uint64_t>(fd));
      b.Add(SYS_chroot, scratch_ + 4096);
      b.Add(SYS_close, static_cast<uint64_t>(fd));
      CRYO_TRY(CheckAll(CRYO_TRY(RunBatch(b)), "chroot"));
    }
    long fd = CRYO_TRY(Open(cwd, O_PATH | O_DIRECTORY | O_CLOEXEC, true));
    SyscallBatch b;
    b.Add(SYS_fchdir, static_cast<uint64_t>(fd));
    b.Add(SYS_close, static_cast<uint64_t>(fd));
    std::vector<long> res = CRYO_TRY(RunBatch(b));
    if (res[0] < 0) return MakeError(static_cast<int>(-res[0]), "chdir to cwd {} in task {}", cwd, t_.tid());
    CRYO_TRY(t_.Check("umask", SYS_umask, ti_.fs.umask()));
    return {};
  }

  // A cwd cryo opened (below /proc/PID of an exited process): taken and
  // entered with fchdir.
  Result<> HeldCwd(int held, const std::string& root) {
    if (root != "/") return MakeError(ENOTSUP, "a cwd in /proc of an exited process under a chroot ({})", root);
    long fd = CRYO_TRY(t_.Check("pidfd_getfd", SYS_pidfd_getfd, static_cast<uint64_t>(cryo_fd_),
                                static_cast<uint64_t>(held), 0));
    SyscallBatch b;
    b.Add(SYS_fchdir, static_cast<uint64_t>(fd));
    b.Add(SYS_close, static_cast<uint64_t>(fd));
    b.Add(SYS_umask, ti_.fs.umask());
    std::vector<long> res = CRYO_TRY(RunBatch(b));
    if (res[0] < 0) return MakeError(static_cast<int>(-res[0]), "fchdir to the cwd in task {}", t_.tid());
    return {};
  }

  // The tree's user namespace as fd `at` (above every dumped fd): opened
  // while the task's root is cryo's, entered by EnterUserns.
  Result<> TakeUserns(const std::string& path, int at) {
    long fd = CRYO_TRY(Open(path, O_RDONLY | O_CLOEXEC));
    if (fd != at) {
      CRYO_TRY(t_.Check("dup3", SYS_dup3, static_cast<uint64_t>(fd), static_cast<uint64_t>(at), O_CLOEXEC));
      CRYO_TRY(t_.Check("close", SYS_close, static_cast<uint64_t>(fd)));
    }
    return {};
  }
  // Into the namespace at `path` (cryo's /proc), by the task itself.
  Result<> JoinNs(const std::string& path, int flag, const char* what) {
    long fd = CRYO_TRY(Open(path, O_RDONLY | O_CLOEXEC));
    long r = CRYO_TRY(t_.Syscall(SYS_setns, static_cast<uint64_t>(fd), static_cast<uint64_t>(flag)));
    CRYO_TRY(t_.Check("close", SYS_close, static_cast<uint64_t>(fd)));
    if (r < 0) return MakeError(static_cast<int>(-r), "setns({}) in task {}", what, t_.tid());
    return {};
  }
  // Into the mount namespace at `path` (cryo's /proc); its root becomes
  // the task's fd `tree_fd`, where the paths of its files resolve.
  Result<> JoinMnt(const std::string& path, int tree_fd) {
    CRYO_TRY(JoinNs(path, CLONE_NEWNS, "mnt"));
    long fd = CRYO_TRY(Open("/", O_PATH | O_DIRECTORY | O_CLOEXEC));
    CRYO_TRY(t_.Check("dup3", SYS_dup3, static_cast<uint64_t>(fd), static_cast<uint64_t>(tree_fd), O_CLOEXEC));
    CRYO_TRY(t_.Check("close", SYS_close, static_cast<uint64_t>(fd)));
    return {};
  }
  Result<> EnterUserns(int fd) {
    long r = CRYO_TRY(t_.Syscall(SYS_setns, static_cast<uint64_t>(fd), CLONE_NEWUSER));
    CRYO_TRY(t_.Check("close", SYS_close, static_cast<uint64_t>(fd)));
    if (r == -EINVAL)
      return MakeError(EINVAL, "task {} cannot enter it: it shares its fs (CLONE_FS) with another process", t_.tid());
    if (r < 0) return MakeError(static_cast<int>(-r), "setns(CLONE_NEWUSER) in task {}", t_.tid());
    return {};
  }

  Result<> DropInherited(pid_t pid, uint64_t tramp, int keep, int keep_too = -1) {
    // cryo's rseq registration, made by glibc: the kernel would write into
    // memory we are about to replace.
    struct {
      uint64_t ptr;
      uint32_t size, sig, flags, pad;
    } rc{};
    SyscallBatch b;
    if (ptrace(static_cast<__ptrace_request>(PTRACE_GET_RSEQ_CONFIGURATION), pid, sizeof rc, &rc) > 0 &&
        rc.ptr != 0)
      b.Add(SYS_rseq, rc.ptr, rc.size, 1, rc.sig);
    // A table shared with an earlier task (CLONE_FILES) is that task's.
    // Every fd of cryo's but `keep`, the pidfd it hands files through.
    if (ti_.owns_files) {
      // keep_too, when given, is keep + 1.
      int last = keep_too >= 0 ? keep_too : keep;
      if (keep > 0) b.Add(SYS_close_range, 0, static_cast<uint64_t>(keep - 1), 0);
      b.Add(SYS_close_range, static_cast<uint64_t>(last + 1), ~0U, 0);
    }
    // Everything of cryo's below and above the trampoline ([vsyscall] is
    // not in user space and stays): all in one batch.
    constexpr uint64_t kTaskSize = 0x7ffffffff000ULL;
    b.Add(SYS_munmap, 0, tramp);
    b.Add(SYS_munmap, tramp + kTrampSize, kTaskSize - tramp - kTrampSize);
    CRYO_TRY(CheckAll(CRYO_TRY(RunBatch(b)), "rseq, close_range or munmap"));
    return {};
  }

  // Runs a batch of calls in one stop; its table goes in the scratch area.
  Result<std::vector<long>> RunBatch(SyscallBatch& b) {
    ResetScratch();
    return b.Run(t_, scratch_ - kPage + kBatchCode, scratch_, (kTrampSize - kPage) / sizeof(x86::BatchEntry));
  }
  Result<> CheckAll(const std::vector<long>& res, const char* what) {
    for (long r : res)
      if (r < 0 && r > -4096) return MakeError(static_cast<int>(-r), "{} in task {}", what, t_.tid());
    return {};
  }

  Result<> MapVdso(pid_t pid) {
    uint64_t lo = ~0ULL;
    std::map<std::string, uint64_t> want;
    for (const auto& v : ti_.mm.vmas())
      if (v.status() & kVdsoBits) lo = std::min(lo, v.start());
    if (lo == ~0ULL) return {};
    CRYO_TRY(t_.Check("arch_prctl(ARCH_MAP_VDSO_64)", SYS_arch_prctl, ARCH_MAP_VDSO_64, lo));
    // The layout must be the dumped one: code calls into it at fixed places.
    std::vector<Vma> now = CRYO_TRY(ReadSmaps(pid));
    for (const auto& v : ti_.mm.vmas()) {
      if (!(v.status() & kVdsoBits)) continue;
      bool found = false;
      for (const Vma& n : now)
        if (n.start == v.start() && n.end == v.end() && n.path.starts_with("[v")) found = true;
      if (!found)
        return MakeError(EINVAL, "vDSO layout differs from the dumped one at {:#x}-{:#x}", v.start(), v.end());
    }
    return {};
  }

  // Every mapping, in three batches per group of mappings: the files they
  // map are opened (each once), mapped (with madvise bits), closed.
  Result<> MapVmas() {
    struct Map {
      const img::vma_entry* v;
      uint32_t prot, flags;
      int file;  // index in the group's opens, -1 for none
    };
    std::vector<Map> maps;
    struct FileOpen {
      std::string path;
      uint32_t mode;
      bool in_tree;
      int held = -1;  // cryo's fd to take instead (pidfd_getfd)
      bool operator==(const FileOpen&) const = default;
    };
    std::vector<FileOpen> opens;
    size_t path_bytes = 0;
    constexpr size_t kRoom = kTrampSize - kPage;
    auto flush = [&]() -> Result<> {
      if (maps.empty()) return {};
      uint64_t at = scratch_ + ((opens.size() * sizeof(x86::BatchEntry) + 63) & ~uint64_t{63});
      SyscallBatch ob;
      for (const auto& o : opens) {
        CRYO_TRY(t_.Write(at, o.path.c_str(), o.path.size() + 1));
        uint64_t path_at = at;
        at = (at + o.path.size() + 1 + 7) & ~uint64_t{7};
        if (o.held >= 0) {
          ob.Add(SYS_pidfd_getfd, static_cast<uint64_t>(cryo_fd_), static_cast<uint64_t>(o.held), 0);
        } else if (o.in_tree && tree_fd_ >= 0) {
          open_how how{};
          how.flags = o.mode;
          how.resolve = RESOLVE_IN_ROOT;
          CRYO_TRY(t_.Write(at, &how, sizeof how));
          ob.Add(SYS_openat2, static_cast<uint64_t>(tree_fd_), path_at, at, sizeof how);
          at += sizeof how;
        } else {
          ob.Add(SYS_openat, static_cast<uint64_t>(AT_FDCWD), path_at, o.mode, 0);
        }
      }
      std::vector<long> fds = CRYO_TRY(RunBatch(ob));
      Result<> r;
      for (size_t i = 0; i < fds.size() && r; i++)
        if (fds[i] < 0) r = MakeError(static_cast<int>(-fds[i]), "open {} in task {}", opens[i].path, t_.tid());
      if (r) {
        SyscallBatch mb;
        std::vector<size_t> map_at;
        for (const auto& m : maps) {
          const auto& v = *m.v;
          uint64_t len = v.end() - v.start();
          long fd = m.file < 0 ? -1 : fds[static_cast<size_t>(m.file)];
          if (v.status() & kSysvIpc)  // the IPC namespace's segment, attached again in its place
            map_at.push_back(mb.Add(SYS_shmat, v.shmid(), v.start(), SHM_REMAP | ((v.prot() & PROT_WRITE) ? 0 : SHM_RDONLY)));
          else
            map_at.push_back(mb.Add(SYS_mmap, v.start(), len, m.prot, m.flags, static_cast<uint64_t>(fd), v.pgoff()));
          for (int adv = 0; adv < 64; adv++)
            if (v.madv() & (1ULL << adv)) mb.Add(SYS_madvise, v.start(), len, static_cast<uint64_t>(adv));
        }
        auto res = RunBatch(mb);
        if (!res) {
          r = std::unexpected(res.error());
        } else {
          for (size_t i = 0; i < maps.size() && r; i++) {
            long got = (*res)[map_at[i]];
            if (got >= 0 && static_cast<uint64_t>(got) != maps[i].v->start())
              r = MakeError(EINVAL, "map {:#x}-{:#x} in task {}: at {:#x}", maps[i].v->start(), maps[i].v->end(),
                            t_.tid(), got);
            else if (got < 0 && got > -4096)
              r = MakeError(static_cast<int>(-got), "map {:#x}-{:#x} in task {}", maps[i].v->start(), maps[i].v->end(),
                            t_.tid());
          }
          for (size_t i = 0; i < res->size() && r; i++)
            if ((*res)[i] < 0 && (*res)[i] > -4096) r = MakeError(static_cast<int>(-(*res)[i]), "madvise in task {}", t_.tid());
        }
      }
      SyscallBatch cb;
      for (long fd : fds)
        if (fd >= 0) cb.Add(SYS_close, static_cast<uint64_t>(fd));
      auto closed = RunBatch(cb);
      maps.clear();
      opens.clear();
      path_bytes = 0;
      CRYO_TRY(std::move(r));
      CRYO_TRY(std::move(closed));
      return {};
    };
    for (const auto& v : ti_.mm.vmas()) {
      if (v.status() & (kVdsoBits | kVsyscall | kGuard)) continue;
      if (v.status() & kSysvIpc) {
        // shmat maps the whole segment: it must be what the image says
        // (cryo is in the tree's IPC namespace).
        shmid_ds ds{};
        if (::shmctl(static_cast<int>(v.shmid()), IPC_STAT, &ds) != 0)
          return ErrnoError("SysV shared memory {} of {:#x}-{:#x}", v.shmid(), v.start(), v.end());
        uint64_t whole = (static_cast<uint64_t>(ds.shm_segsz) + kPage - 1) & ~(kPage - 1);
        if (v.pgoff() != 0 || v.end() - v.start() != whole)
          return MakeError(EINVAL, "SysV shared memory {} is {} bytes, mapped at {:#x}-{:#x}", v.shmid(), ds.shm_segsz,
                           v.start(), v.end());
      }
      // The map type (private, shared, droppable) and the flags smaps shows.
      constexpr uint32_t kMapType = 0x0f;
      constexpr uint32_t kMapHuge = MAP_HUGETLB | (MAP_HUGE_MASK << MAP_HUGE_SHIFT);
      Map m{&v, v.prot(),
            (v.flags() & (kMapType | MAP_ANONYMOUS | MAP_GROWSDOWN | MAP_LOCKED | MAP_NORESERVE | kMapHuge)) | MAP_FIXED,
            -1};
      if (!(v.status() & kFileShared)) m.prot |= PROT_WRITE;  // pages are filled in, then mprotect
      std::string path;
      uint32_t mode = O_RDONLY;
      bool in_tree = false;
      int held = -1;
      if (v.status() & kAnonShared) {
        // The one shared object, whichever tasks map it.
        m.flags &= ~static_cast<uint32_t>(MAP_ANONYMOUS);
        path = CRYO_TRY(memfds_->AnonPathOf(v.shmid()));
        mode = O_RDWR;
      } else if (v.status() & (kFileShared | kFilePrivate)) {
        // As the mapping's file was opened (mprotect checks it), or, in
        // images without it, what the mapping needs now.
        mode = v.has_fdflags() ? (v.fdflags() & O_ACCMODE)
                               : (v.status() & kFileShared) && (v.prot() & PROT_WRITE) ? O_RDWR : O_RDONLY;
        if (v.status() & kMemfd) {
          path = CRYO_TRY(memfds_->PathOf(static_cast<uint32_t>(v.shmid())));
          // A writable reopening would count as a writer of the inode for
          // as long as it is mapped (execveat of the memfd: ETXTBSY); the
          // memfd_create() file itself does not.
          // (A task sharing an earlier task's fd table has no cryo pidfd.)
          if (mode == O_RDWR && ti_.owns_files) held = memfds_->FdOf(static_cast<uint32_t>(v.shmid()));
        } else {
          path = CRYO_TRY(PathOfFile(static_cast<uint32_t>(v.shmid()))), in_tree = true;
        }
      }
      if (!path.empty()) {
        // Room for the calls (opens, maps and madvises, closes) and paths.
        size_t need = (opens.size() + 1 + maps.size() + 1 + 64) * sizeof(x86::BatchEntry) + path_bytes + path.size() + 64;
        if (need > kRoom) CRYO_TRY(flush());
        FileOpen o{path, mode, in_tree, held};
        auto it = std::find(opens.begin(), opens.end(), o);
        if (it == opens.end()) {
          opens.push_back(o);
          path_bytes += path.size() + 8 + sizeof(open_how);
          it = opens.end() - 1;
        }
        m.file = static_cast<int>(it - opens.begin());
      } else if ((maps.size() + 65) * sizeof(x86::BatchEntry) > kRoom) {
        CRYO_TRY(flush());
      }
      if (log_.enabled(LogLevel::kDebug))
        log_.Debug("pid {}: vma {:#x}-{:#x} prot {:#x} flags {:#x} status {:#x} pgoff {:#x}{}{}", t_.tid(), v.start(),
                   v.end(), v.prot(), v.flags(), v.status(), v.pgoff(), path.empty() ? "" : " from ", path);
      maps.push_back(m);
    }
    return flush();
  }

  // The task reads its own pages from pages-N.img: one copy, by the kernel.
  Result<uint64_t> LoadPages() {
    uint64_t pages = CRYO_TRY(ReadPages());
    SyscallBatch b;
    for (const auto& v : ti_.mm.vmas()) {
      if (v.status() & (kVdsoBits | kVsyscall | kFileShared | kGuard)) continue;
      b.Add(SYS_mprotect, v.start(), v.end() - v.start(), v.prot());
    }
    CRYO_TRY(CheckAll(CRYO_TRY(RunBatch(b)), "mprotect"));
    // Guard regions last: installing one drops the pages under it.
    SyscallBatch g;
    for (const auto& v : ti_.mm.vmas())
      if (v.status() & kGuard) g.Add(SYS_madvise, v.start(), v.end() - v.start(), MADV_GUARD_INSTALL);
    if (g.size() > 0) CRYO_TRY(CheckAll(CRYO_TRY(RunBatch(g)), "madvise(MADV_GUARD_INSTALL)"));
    return pages;
  }

  // The preadvs in rounds of as many as the scratch holds (a table entry
  // and up to kIov iovecs each), each over runs of one pages file that
  // follow each other in it; the files (this dump's, and its parents' for
  // an incremental one) opened first, closed with the last round.
  Result<uint64_t> ReadPages() {
    const TaskPages& tp = ti_.pages;
    if (tp.sources.empty()) return 0;
    std::vector<long> fds;
    for (const std::string& f : tp.files) fds.push_back(CRYO_TRY(Open(f, O_RDONLY)));
    constexpr size_t kIov = 256;
    constexpr size_t kPerRound = (kTrampSize - kPage) / (sizeof(x86::BatchEntry) + kIov * sizeof(iovec));
    constexpr uint64_t kTable = ((kPerRound + 1) * sizeof(x86::BatchEntry) + 63) & ~uint64_t{63};
    static_assert(kTable + kPerRound * kIov * sizeof(iovec) <= kTrampSize - kPage);
    size_t i = 0;
    while (i < tp.sources.size()) {
      SyscallBatch b;
      struct Want {
        uint64_t bytes, offset;
        int file;
      };
      std::vector<Want> want;
      uint64_t at = scratch_ + kTable;
      for (size_t k = 0; k < kPerRound && i < tp.sources.size(); k++) {
        std::vector<iovec> iov;
        const PageSource& first = tp.sources[i];
        uint64_t bytes = 0;
        for (; iov.size() < kIov && i < tp.sources.size(); i++) {
          const PageSource& s = tp.sources[i];
          if (s.file != first.file || s.offset != first.offset + bytes) break;
          iov.push_back({reinterpret_cast<void*>(s.vaddr), s.len});
          bytes += s.len;
        }
        CRYO_TRY(t_.Write(at, iov.data(), iov.size() * sizeof(iovec)));
        b.Add(SYS_preadv, static_cast<uint64_t>(fds[static_cast<size_t>(first.file)]), at, iov.size(), first.offset, 0);
        want.push_back({bytes, first.offset, first.file});
        at += iov.size() * sizeof(iovec);
      }
      if (i >= tp.sources.size() && fds.size() == 1) b.Add(SYS_close, static_cast<uint64_t>(fds[0]));
      std::vector<long> res = CRYO_TRY(RunBatch(b));
      for (size_t k = 0; k < want.size(); k++) {
        const std::string& path = tp.files[static_cast<size_t>(want[k].file)];
        if (res[k] < 0 && res[k] > -4096) return MakeError(static_cast<int>(-res[k]), "preadv {} in task {}", path, t_.tid());
        if (static_cast<uint64_t>(res[k]) != want[k].bytes)
          return MakeError(EIO, "{}: {} bytes at offset {}, want {}", path, res[k], want[k].offset, want[k].bytes);
      }
    }
    if (fds.size() > 1) {
      SyscallBatch b;
      for (long fd : fds) b.Add(SYS_close, static_cast<uint64_t>(fd));
      CRYO_TRY(RunBatch(b));
    }
    return tp.pages;
  }

  Result<> SetMm() {
    const auto& mm = ti_.mm;
    long exe_fd = CRYO_TRY(Open(CRYO_TRY(PathOfFile(mm.exe_file_id())), O_RDONLY, true));
    std::vector<uint64_t> auxv(mm.mm_saved_auxv().begin(), mm.mm_saved_auxv().end());
    if (auxv.size() > 512) return MakeError(E2BIG, "mm.img: an auxv of {} words", auxv.size());
    // The map, the exe's close and dumpable in one batch, arguments past
    // its table.
    uint64_t auxv_at = scratch_ + 4096;
    CRYO_TRY(t_.Write(auxv_at, auxv.data(), auxv.size() * 8));
    prctl_mm_map m{};
    m.start_code = mm.mm_start_code();
    m.end_code = mm.mm_end_code();
    m.start_data = mm.mm_start_data();
    m.end_data = mm.mm_end_data();
    m.start_brk = mm.mm_start_brk();
    m.brk = mm.mm_brk();
    m.start_stack = mm.mm_start_stack();
    m.arg_start = mm.mm_arg_start();
    m.arg_end = mm.mm_arg_end();
    m.env_start = mm.mm_env_start();
    m.env_end = mm.mm_env_end();
    m.auxv = reinterpret_cast<__u64*>(auxv_at);
    m.auxv_size = static_cast<__u32>(auxv.size() * 8);
    m.exe_fd = static_cast<__u32>(exe_fd);
    uint64_t at = auxv_at + ((auxv.size() * 8 + 15) & ~size_t{15});
    CRYO_TRY(t_.Write(at, &m, sizeof m));
    SyscallBatch b;
    b.Add(SYS_prctl, PR_SET_MM, PR_SET_MM_MAP, at, sizeof m, 0);
    b.Add(SYS_close, static_cast<uint64_t>(exe_fd));
    std::vector<const char*> what = {"prctl(PR_SET_MM_MAP)", "close"};
    if (mm.has_dumpable()) {
      b.Add(SYS_prctl, PR_SET_DUMPABLE, static_cast<uint64_t>(mm.dumpable()));
      what.push_back("prctl(PR_SET_DUMPABLE)");
    }
    if (mm.thp_disabled()) {
      b.Add(SYS_prctl, PR_SET_THP_DISABLE, 1, 0, 0, 0);
      what.push_back("prctl(PR_SET_THP_DISABLE)");
    }
    // membarrier registrations belong to the mm: each REGISTER_* command
    // the process had made, made again.
    uint32_t reg = ti_.cores[0].tc().membarrier_registration_mask();
    for (int bit = 0; bit < 32; bit++)
      if (reg & (1u << bit)) {
        b.Add(SYS_membarrier, 1u << bit, 0, 0);
        what.push_back("membarrier(REGISTER)");
      }
    std::vector<long> res = CRYO_TRY(RunBatch(b));
    for (size_t i = 0; i < res.size(); i++)
      if (res[i] < 0 && res[i] > -4096) return MakeError(static_cast<int>(-res[i]), "{} in task {}", what[i], t_.tid());
    return {};
  }

  // Takes cryo's open file description `held` as fd `target`: the very
  // same description, as if inherited (pidfd_getfd). Temporaries sit below
  // `target` or are closed before the next fd is installed.
  Result<> Install(int held, uint32_t target, bool cloexec) {
    // Through the inherited pidfd: a task in a pid namespace of its own
    // could not name cryo by pid.
    long fd = CRYO_TRY(t_.Check("pidfd_getfd", SYS_pidfd_getfd, static_cast<uint64_t>(cryo_fd_),
                                static_cast<uint64_t>(held), 0));
    if (static_cast<uint32_t>(fd) != target) {
      CRYO_TRY(t_.Check("dup3", SYS_dup3, static_cast<uint64_t>(fd), target, cloexec ? O_CLOEXEC : 0));
      CRYO_TRY(t_.Check("close", SYS_close, static_cast<uint64_t>(fd)));
    } else if (!cloexec) {
      CRYO_TRY(t_.Check("fcntl(F_SETFD)", SYS_fcntl, target, F_SETFD, 0));
    }
    return {};
  }

  // A namespace file: the task's own namespace of that kind (the dump
  // took only those), opened by the task through its /proc/self.
  Result<> OpenNsFile(uint32_t id, uint32_t target, bool cloexec) {
    auto it = s_.ns_files.find(id);
    if (it == s_.ns_files.end()) return MakeError(EINVAL, "namespace file {} is not in files.img", id);
    static constexpr std::pair<uint32_t, const char*> kNames[] = {
        {CLONE_NEWNET, "net"}, {CLONE_NEWUTS, "uts"},   {CLONE_NEWIPC, "ipc"},         {CLONE_NEWPID, "pid"},
        {CLONE_NEWNS, "mnt"},  {CLONE_NEWTIME, "time"}, {CLONE_NEWCGROUP, "cgroup"}, {CLONE_NEWUSER, "user"},
    };
    const char* name = nullptr;
    for (const auto& [flag, n] : kNames)
      if (flag == it->second.ns_cflag()) name = n;
    if (!name) return MakeError(ENOTSUP, "namespace file {} of kind {:#x}", id, it->second.ns_cflag());
    uint32_t flags = it->second.flags() & ~static_cast<uint32_t>(O_CREAT | O_TRUNC | O_EXCL | O_CLOEXEC);
    long fd = CRYO_TRY(Open(fmt::format("/proc/self/ns/{}", name), flags | (cloexec ? O_CLOEXEC : 0)));
    if (static_cast<uint32_t>(fd) != target) {
      CRYO_TRY(t_.Check("dup3", SYS_dup3, static_cast<uint64_t>(fd), target, cloexec ? O_CLOEXEC : 0));
      CRYO_TRY(t_.Check("close", SYS_close, static_cast<uint64_t>(fd)));
    }
    return {};
  }

  // The audit login uid. Only the task may write its own, and only with
  // CAP_AUDIT_CONTROL in the first user namespace: it writes to cryo's fd
  // for its /proc file (its /proc may not be cryo's), before it enters a
  // user namespace of the tree's.
  Result<> Loginuid(pid_t host) {
    const auto& tc = ti_.cores[0].tc();
    if (!tc.has_loginuid()) return {};
    std::string path = fmt::format("/proc/{}/loginuid", host);
    auto now = ReadFile(path);
    if (now && std::strtoul(now->c_str(), nullptr, 10) == tc.loginuid()) return {};
    UniqueFd f = CRYO_TRY(cryo::Open(path, O_WRONLY));
    long fd = CRYO_TRY(t_.Check("pidfd_getfd", SYS_pidfd_getfd, static_cast<uint64_t>(cryo_fd_),
                                static_cast<uint64_t>(f.get()), 0));
    std::string v = std::to_string(tc.loginuid());
    ResetScratch();
    uint64_t at = CRYO_TRY(Put(v.c_str(), v.size()));
    long w = CRYO_TRY(t_.Syscall(SYS_write, static_cast<uint64_t>(fd), at, v.size()));
    CRYO_TRY(t_.Check("close", SYS_close, static_cast<uint64_t>(fd)));
    if (w < 0) return MakeError(static_cast<int>(-w), "write {} to {}", v, path);
    return {};
  }

  Result<> OpenFds() {
    std::map<uint32_t, uint32_t> first_fd;  // file id -> fd holding it
    for (const auto& fi : ti_.fds) {
      bool cloexec = fi.flags() & FD_CLOEXEC;
      if (auto it = first_fd.find(fi.id()); it != first_fd.end()) {
        // Another fd of the same open file: share it, offset and all.
        CRYO_TRY(t_.Check("dup3", SYS_dup3, it->second, fi.fd(), cloexec ? O_CLOEXEC : 0));
        log_.Debug("pid {}: fd {} <- fd {} (file {})", t_.tid(), fi.fd(), it->second, fi.id());
        continue;
      }
      if (int held = shared_ ? shared_->FdOf(fi.id()) : -1; held >= 0) {
        CRYO_TRY_CTX(Install(held, fi.fd(), cloexec), "fd {} ({})", fi.fd(), img::fd_types_Name(fi.type()));
        log_.Debug("pid {}: fd {} <- file {} ({}), made by cryo as its fd {}", t_.tid(), fi.fd(), fi.id(),
                   img::fd_types_Name(fi.type()), held);
        first_fd[fi.id()] = fi.fd();
        continue;
      }
      if (fi.type() == img::NS) {
        CRYO_TRY_CTX(OpenNsFile(fi.id(), fi.fd(), cloexec), "fd {}", fi.fd());
        first_fd[fi.id()] = fi.fd();
        continue;
      }
      // Where to open it, with which flags, at which offset.
      std::string path;
      uint32_t flags;
      uint64_t pos;
      bool in_tree = fi.type() != img::MEMFD;
      if (fi.type() == img::MEMFD) {
        const auto& m = s_.memfd_files.at(fi.id());
        path = CRYO_TRY(memfds_->PathOf(m.inode_id()));
        flags = m.flags();
        pos = m.pos();
        // The first writable one is the memfd_create() file itself: with
        // it alone, the program can execveat() the memfd (a reopening
        // counts as a writer: ETXTBSY).
        if (int held = (flags & O_ACCMODE) == O_RDWR ? memfds_->TakeForWriter(m.inode_id()) : -1; held >= 0) {
          CRYO_TRY_CTX(Install(held, fi.fd(), cloexec), "fd {} (memfd)", fi.fd());
          uint64_t keep = flags & (O_APPEND | O_NONBLOCK);
          if (keep) CRYO_TRY(t_.Check("fcntl(F_SETFL)", SYS_fcntl, fi.fd(), F_SETFL, keep));
          if (pos != 0) CRYO_TRY(t_.Check("lseek", SYS_lseek, fi.fd(), pos, SEEK_SET));
          first_fd[fi.id()] = fi.fd();
          continue;
        }
      } else {
        const auto* f = CRYO_TRY(s_.File(fi.id()));
        path = CRYO_TRY(PathOfFile(fi.id()));
        flags = OpenFlags(f->flags());
        pos = f->pos();
      }
      flags &= ~static_cast<uint32_t>(O_CLOEXEC);
      long fd = CRYO_TRY(Open(path, flags | (cloexec ? O_CLOEXEC : 0), in_tree));
      if (static_cast<uint32_t>(fd) != fi.fd()) {
        CRYO_TRY(t_.Check("dup3", SYS_dup3, static_cast<uint64_t>(fd), fi.fd(), cloexec ? O_CLOEXEC : 0));
        CRYO_TRY(t_.Check("close", SYS_close, static_cast<uint64_t>(fd)));
      }
      if (!(flags & O_PATH) && pos != 0) CRYO_TRY(t_.Check("lseek", SYS_lseek, fi.fd(), pos, SEEK_SET));
      log_.Debug("pid {}: fd {} <- file {} ({}) {} flags {:#o} at {}", t_.tid(), fi.fd(), fi.id(),
                 img::fd_types_Name(fi.type()), path, flags, pos);
      first_fd[fi.id()] = fi.fd();
    }
    std::string cwd = CRYO_TRY(PathOfFile(ti_.fs.cwd_id()));
    std::string root = CRYO_TRY(PathOfFile(ti_.fs.root_id()));
    if (int held = shared_ ? shared_->FdOf(ti_.fs.cwd_id()) : -1; held >= 0) return HeldCwd(held, root);
    if (tree_fd_ >= 0) return TreeFs(root, cwd);
    // Root, cwd and umask in one batch, the paths past its table.
    if (root.size() + cwd.size() + 4096 + 64 > kTrampSize - kPage)
      return MakeError(ENAMETOOLONG, "cwd {} / root {}", cwd, root);
    // Both paths are as cryo sees them (from its root): the cwd first,
    // then the root, which leaves the cwd where it is.
    uint64_t at = scratch_ + 4096;
    SyscallBatch b;
    std::vector<std::string> what;
    CRYO_TRY(t_.Write(at, cwd.c_str(), cwd.size() + 1));
    b.Add(SYS_chdir, at);
    what.push_back("chdir to cwd " + cwd);
    at += (cwd.size() + 16) & ~size_t{15};
    if (root != "/") {
      CRYO_TRY(t_.Write(at, root.c_str(), root.size() + 1));
      b.Add(SYS_chroot, at);
      what.push_back("chroot " + root);
    }
    b.Add(SYS_umask, ti_.fs.umask());  // returns the old mask
    what.push_back("umask");
    std::vector<long> res = CRYO_TRY(RunBatch(b));
    for (size_t i = 0; i + 1 < res.size(); i++)
      if (res[i] < 0 && res[i] > -4096) return MakeError(static_cast<int>(-res[i]), "{} in task {}", what[i], t_.tid());
    return {};
  }

  // O_ASYNC files: turned off and on again by the first task that holds
  // each, so the kernel's SIGIO names the fd it has there (cryo turned
  // O_ASYNC on through fds of its own).
  Result<> ArmAsync(std::set<uint32_t>& done) {
    SyscallBatch b;
    for (const auto& fi : ti_.fds) {
      auto f = s_.async_flags.find(fi.id());
      if (f == s_.async_flags.end() || !done.insert(fi.id()).second) continue;
      uint64_t keep = f->second & (O_APPEND | O_NONBLOCK | O_DIRECT | O_NOATIME);
      b.Add(SYS_fcntl, fi.fd(), F_SETFL, keep);
      b.Add(SYS_fcntl, fi.fd(), F_SETFL, keep | O_ASYNC);
    }
    if (b.size() == 0) return {};
    return CheckAll(CRYO_TRY(RunBatch(b)), "fcntl(F_SETFL) for O_ASYNC");
  }

  // An epoll's registrations, made once, by the first task that holds it,
  // with that task's fd numbers (epoll keys them by file and fd).
  Result<> EpollTargets(std::set<uint32_t>& done) {
    for (const auto& fi : ti_.fds) {
      if (fi.type() != img::EVENTPOLL || !done.insert(fi.id()).second) continue;
      for (const auto& t : s_.event_files.at(fi.id()).epfd().tfd()) {
        epoll_event ev{};
        ev.events = t.events();
        ev.data.u64 = t.data();
        ResetScratch();
        uint64_t at = CRYO_TRY(Put(&ev, sizeof ev));
        CRYO_TRY_CTX(t_.Check("epoll_ctl", SYS_epoll_ctl, fi.fd(), EPOLL_CTL_ADD, t.tfd(), at),
                     "epoll fd {}: watch fd {}", fi.fd(), t.tfd());
      }
    }
    return {};
  }

  // A lease, set again by the task on its fd (which makes the task the
  // file's owner, as at dump time). One that was being broken is set as
  // the fd's access allows, then broken again by an open of cryo's that
  // conflicts with it (the kernel starts the break and says EWOULDBLOCK),
  // the file's owner cleared meanwhile so that no SIGIO goes out: the
  // owner comes back with the other owners.
  Result<> Lease(const img::file_lock_entry& l) {
    constexpr uint32_t kBreaking = 4;
    uint64_t fd = static_cast<uint64_t>(l.fd());
    uint32_t target = l.type() & ~kBreaking;
    if (!(l.type() & kBreaking)) {
      CRYO_TRY_CTX(t_.Check("fcntl", SYS_fcntl, fd, F_SETLEASE, target), "lease on fd {}", l.fd());
      return {};
    }
    const img::fdinfo_entry* fi = nullptr;
    for (const auto& f : ti_.fds)
      if (f.fd() == static_cast<uint32_t>(l.fd())) fi = &f;
    if (!fi || fi->type() != img::REG) return MakeError(EINVAL, "lease on fd {}: not a regular file", l.fd());
    uint32_t mode = CRYO_TRY(s_.File(fi->id()))->flags() & O_ACCMODE;
    uint32_t before = mode == O_RDONLY ? F_RDLCK : F_WRLCK;
    if (target == F_WRLCK || (target == F_RDLCK && before == F_RDLCK))
      return MakeError(EINVAL, "lease on fd {}: cannot break to type {}", l.fd(), target);
    CRYO_TRY_CTX(t_.Check("fcntl", SYS_fcntl, fd, F_SETLEASE, before), "lease on fd {}", l.fd());
    CRYO_TRY_CTX(t_.Check("fcntl", SYS_fcntl, fd, F_SETOWN, 0), "owner of fd {}", l.fd());
    int breaker = target == F_UNLCK ? O_WRONLY : O_RDONLY;
    std::string path = fmt::format("/proc/{}/fd/{}", t_.tid(), l.fd());
    int other = ::open(path.c_str(), breaker | O_NONBLOCK | O_CLOEXEC);
    if (other >= 0) {
      ::close(other);
      return MakeError(EINVAL, "lease on fd {}: an open of {} did not break it", l.fd(), path);
    }
    if (errno != EWOULDBLOCK) return ErrnoError("break the lease on fd {}", l.fd());
    return {};
  }

  // An epoll in flight: registered by the task whose socket holds it (its
  // targets are that task's fds, at their numbers), through an fd of the
  // task's for the while.
  Result<> InFlightEpolls(std::set<uint32_t>& done) {
    std::set<uint32_t> mine;
    for (const auto& fi : ti_.fds) mine.insert(fi.id());
    for (const auto& [sk, packets] : s_.sk_queues) {
      if (!mine.count(sk)) continue;
      for (const auto& p : packets)
        for (uint32_t id : p.rights) {
          auto k = s_.kinds.find(id);
          if (k == s_.kinds.end() || k->second != img::EVENTPOLL || !done.insert(id).second) continue;
          const auto& e = s_.event_files.at(id).epfd();
          if (e.tfd_size() == 0) continue;
          int held = shared_ ? shared_->FdOf(id) : -1;
          if (held < 0) return MakeError(ENOENT, "epoll {} in flight: cryo does not hold it", id);
          uint64_t efd = static_cast<uint64_t>(CRYO_TRY(t_.Check("pidfd_getfd", SYS_pidfd_getfd,
                                                                  static_cast<uint64_t>(cryo_fd_),
                                                                  static_cast<uint64_t>(held), 0)));
          for (const auto& t : e.tfd()) {
            epoll_event ev{};
            ev.events = t.events();
            ev.data.u64 = t.data();
            ResetScratch();
            uint64_t at = CRYO_TRY(Put(&ev, sizeof ev));
            CRYO_TRY_CTX(t_.Check("epoll_ctl", SYS_epoll_ctl, efd, EPOLL_CTL_ADD, t.tfd(), at),
                         "epoll {} in flight: watch fd {}", id, t.tfd());
          }
          CRYO_TRY(t_.Check("close", SYS_close, efd));
        }
    }
    return {};
  }

  // File locks, taken again by the task that held them, on its fd.
  Result<> Locks(pid_t pid) {
    constexpr uint32_t kPosix = 1, kFlock = 2, kOfd = 1024, kLease = 8;
    for (const auto& l : s_.locks) {
      if (l.pid() != pid) continue;
      uint64_t fd = static_cast<uint64_t>(l.fd());
      if (l.flag() == kLease) {
        CRYO_TRY(Lease(l));
        continue;
      }
      if (l.flag() == kFlock) {
        uint64_t op = (l.type() == F_WRLCK ? LOCK_EX : LOCK_SH) | LOCK_NB;
        CRYO_TRY_CTX(t_.Check("flock", SYS_flock, fd, op), "lock fd {}", l.fd());
        continue;
      }
      if (l.flag() != kPosix && l.flag() != kOfd) return MakeError(ENOTSUP, "lock of kind {:#x}", l.flag());
      struct flock fl {};
      fl.l_type = static_cast<short>(l.type());
      fl.l_whence = SEEK_SET;
      fl.l_start = l.start();
      fl.l_len = l.len();
      ResetScratch();
      uint64_t at = CRYO_TRY(Put(&fl, sizeof fl));
      CRYO_TRY_CTX(t_.Check("fcntl lock", SYS_fcntl, fd, l.flag() == kOfd ? F_OFD_SETLK : F_SETLK, at),
                   "lock fd {} bytes {}+{}", l.fd(), l.start(), l.len());
    }
    return {};
  }

  Result<> TaskState(pid_t pid) {
    const auto& tc = ti_.cores[0].tc();

    // All handlers in one batch: the actions after the batch table.
    {
      std::vector<uint64_t> acts;
      std::vector<int> sigs;
      int i = 0;
      for (int sig = 1; sig <= 64; sig++) {
        if (sig == SIGKILL || sig == SIGSTOP) continue;
        if (i >= tc.sigactions_size()) break;
        const auto& sa = tc.sigactions(i++);
        acts.insert(acts.end(), {sa.sigaction(), sa.flags(), sa.restorer(), sa.mask()});
        sigs.push_back(sig);
      }
      uint64_t table_bytes = sigs.size() * sizeof(x86::BatchEntry);
      uint64_t at = scratch_ + ((table_bytes + 63) & ~uint64_t{63});
      CRYO_TRY(t_.Write(at, acts.data(), acts.size() * 8));
      SyscallBatch b;
      for (size_t k = 0; k < sigs.size(); k++) b.Add(SYS_rt_sigaction, static_cast<uint64_t>(sigs[k]), at + k * 32, 0, 8);
      CRYO_TRY(CheckAll(CRYO_TRY(RunBatch(b)), "rt_sigaction"));
    }
    if (tc.has_timers()) {
      const img::itimer_entry* which[] = {&tc.timers().real(), &tc.timers().virt(), &tc.timers().prof()};
      for (int w = 0; w < 3; w++) {
        const auto& it = *which[w];
        if (!it.vsec() && !it.vusec()) continue;
        itimerval iv{};
        iv.it_interval = {static_cast<time_t>(it.isec()), static_cast<suseconds_t>(it.iusec())};
        iv.it_value = {static_cast<time_t>(it.vsec()), static_cast<suseconds_t>(it.vusec())};
        ResetScratch();
        uint64_t at = CRYO_TRY(Put(&iv, sizeof iv));
        CRYO_TRY(t_.Check("setitimer", SYS_setitimer, static_cast<uint64_t>(w), at, 0));
      }
    }
    if (tc.child_subreaper()) CRYO_TRY(t_.Check("prctl(PR_SET_CHILD_SUBREAPER)", SYS_prctl, PR_SET_CHILD_SUBREAPER, 1));
    if (tc.personality() != 0) CRYO_TRY(t_.Check("personality", SYS_personality, tc.personality()));
    if (tc.has_rlimits()) {
      for (int r = 0; r < tc.rlimits().rlimits_size() && r < RLIM_NLIMITS; r++) {
        rlimit64 want{tc.rlimits().rlimits(r).cur(), tc.rlimits().rlimits(r).max()}, have{};
        if (::prlimit64(pid, static_cast<__rlimit_resource>(r), nullptr, &have) != 0) continue;
        if (have.rlim_cur == want.rlim_cur && have.rlim_max == want.rlim_max) continue;
        if (::prlimit64(pid, static_cast<__rlimit_resource>(r), &want, nullptr) != 0)
          return ErrnoError("set rlimit {} of {} to {}/{}", r, pid, want.rlim_cur, want.rlim_max);
      }
    }
    if (tc.has_oom_score_adj()) {
      UniqueFd f = CRYO_TRY(cryo::Open(fmt::format("/proc/{}/oom_score_adj", pid), O_WRONLY));
      CRYO_TRY(WriteAll(f.get(), std::to_string(tc.oom_score_adj())));
    }
    return {};
  }

  Result<> ThreadState(pid_t tid, const img::core_entry& core) {
    const auto& th = core.thread_core();
    const auto& ti = core.thread_info();
    // Name, alternate stack, rseq, robust list, clear-tid address: one
    // batch, arguments past its table.
    uint64_t at = scratch_ + 4096;
    SyscallBatch b;
    std::vector<std::pair<size_t, const char*>> checked;
    if (th.has_comm()) {
      if (th.comm().size() > 64) return MakeError(EINVAL, "thread name of {} bytes", th.comm().size());
      CRYO_TRY(t_.Write(at, th.comm().c_str(), th.comm().size() + 1));
      checked.push_back({b.Add(SYS_prctl, PR_SET_NAME, at), "prctl(PR_SET_NAME)"});
      at += 80;
    }
    if (th.has_sas() && th.sas().ss_sp() != 0) {
      stack_t ss{reinterpret_cast<void*>(th.sas().ss_sp()), static_cast<int>(th.sas().ss_flags()), th.sas().ss_size()};
      CRYO_TRY(t_.Write(at, &ss, sizeof ss));
      checked.push_back({b.Add(SYS_sigaltstack, at, 0), "sigaltstack"});
      at += 32;
    }
    if (th.has_rseq_entry()) {
      const auto& r = th.rseq_entry();
      checked.push_back({b.Add(SYS_rseq, r.rseq_abi_pointer(), r.rseq_abi_size(), 0, r.signature()), "rseq"});
    }
    if (th.futex_rla() != 0)
      checked.push_back({b.Add(SYS_set_robust_list, th.futex_rla(), th.futex_rla_len()), "set_robust_list"});
    b.Add(SYS_set_tid_address, ti.clear_tid_addr());  // returns the tid
    std::vector<long> res = CRYO_TRY(RunBatch(b));
    for (auto [i, what] : checked)
      if (res[i] < 0 && res[i] > -4096) return MakeError(static_cast<int>(-res[i]), "{} in task {}", what, tid);
    if (th.has_sched_nice()) ::setpriority(PRIO_PROCESS, static_cast<id_t>(tid), th.sched_nice());
    // Any policy but a plain SCHED_OTHER, SCHED_RESET_ON_FORK included.
    if (th.has_sched_policy() && th.sched_policy() != SCHED_OTHER) {
      sched_param sp{static_cast<int>(th.sched_prio())};
      if (::sched_setscheduler(tid, static_cast<int>(th.sched_policy()), &sp) != 0)
        return ErrnoError("sched_setscheduler {}", tid);
    }
    // Seccomp before the credentials: a task that keeps no CAP_SYS_ADMIN
    // and had no no_new_privs (a container's, with its runtime's default
    // profile) could not install its filters after them.
    CRYO_TRY_CTX(Seccomp(th), "seccomp");
    if (th.has_creds()) CRYO_TRY(Creds(th.creds()));
    // Always set: it also replaces the SIGKILL the new task armed for the
    // time cryo builds it.
    CRYO_TRY(t_.Check("prctl(PR_SET_PDEATHSIG)", SYS_prctl, PR_SET_PDEATHSIG, th.pdeath_sig()));
    x86::XSave xs = CRYO_TRY(x86::GetXSave(tid));
    CRYO_TRY(x86::XSaveFromImage(ti.fpregs(), &xs));
    CRYO_TRY(x86::SetXSave(tid, xs));
    return {};
  }

  // POSIX timers with their ids (PR_TIMER_CREATE_RESTORE_IDS makes
  // timer_create take the id it is given), signal, target and times.
  Result<> PosixTimers() {
    const auto& tc = ti_.cores[0].tc();
    if (!tc.has_timers() || tc.timers().posix_size() == 0) return {};
    constexpr long kRestoreIds = 77, kOn = 1, kOff = 0;
    CRYO_TRY(t_.Check("prctl(PR_TIMER_CREATE_RESTORE_IDS)", SYS_prctl, kRestoreIds, kOn, 0, 0, 0));
    // The image lists them newest first, as /proc does: create oldest first.
    for (int k = tc.timers().posix_size() - 1; k >= 0; k--) {
      const auto& pt = tc.timers().posix(k);
      sigevent sev{};
      sev.sigev_value.sival_ptr = reinterpret_cast<void*>(pt.sival_ptr());
      sev.sigev_signo = static_cast<int>(pt.si_signo());
      sev.sigev_notify = static_cast<int>(pt.it_sigev_notify());
      sev._sigev_un._tid = pt.notify_thread_id();
      int id = static_cast<int>(pt.it_id());
      ResetScratch();
      uint64_t sev_at = CRYO_TRY(Put(&sev, sizeof sev));
      uint64_t id_at = CRYO_TRY(Put(&id, sizeof id));
      CRYO_TRY(t_.Check("timer_create", SYS_timer_create, pt.clock_id(), sev_at, id_at));
      int got = 0;
      CRYO_TRY(t_.Read(id_at, &got, sizeof got));
      if (got != id) return MakeError(EEXIST, "POSIX timer {} came back as {}", id, got);
      itimerspec its{};
      its.it_interval = {static_cast<time_t>(pt.isec()), static_cast<long>(pt.insec())};
      its.it_value = {static_cast<time_t>(pt.vsec()), static_cast<long>(pt.vnsec())};
      if (its.it_value.tv_sec || its.it_value.tv_nsec) {
        uint64_t its_at = CRYO_TRY(Put(&its, sizeof its));
        CRYO_TRY(t_.Check("timer_settime", SYS_timer_settime, static_cast<uint64_t>(id), 0, its_at, 0));
      }
    }
    CRYO_TRY(t_.Check("prctl(PR_TIMER_CREATE_RESTORE_IDS)", SYS_prctl, kRestoreIds, kOff, 0, 0, 0));
    return {};
  }

  // Queues the pending signals, with their siginfo, from inside the task
  // (a task may queue any siginfo to itself). Everything is blocked
  // meanwhile so nothing is delivered to us; the dumped mask comes after.
  Result<> QueueSignals(pid_t pid, pid_t tid, const img::signal_queue_entry& q, bool shared) {
    for (const auto& si : q.signals()) {
      siginfo_t info{};
      if (si.siginfo().size() != sizeof info)
        return MakeError(0, "pending signal of {} bytes (want {})", si.siginfo().size(), sizeof info);
      std::memcpy(&info, si.siginfo().data(), sizeof info);
      ResetScratch();
      uint64_t at = CRYO_TRY(Put(&info, sizeof info));
      if (shared)
        CRYO_TRY(t_.Check("rt_sigqueueinfo", SYS_rt_sigqueueinfo, static_cast<uint64_t>(pid),
                          static_cast<uint64_t>(info.si_signo), at));
      else
        CRYO_TRY(t_.Check("rt_tgsigqueueinfo", SYS_rt_tgsigqueueinfo, static_cast<uint64_t>(pid),
                          static_cast<uint64_t>(tid), static_cast<uint64_t>(info.si_signo), at));
    }
    return {};
  }

  // Strict mode, or the thread's filter chain from the oldest on, as it
  // was installed. (Our own remote syscalls, before and after, are not
  // subject to it: PTRACE_O_SUSPEND_SECCOMP.)
  // How this thread gets its filters: its own, or (threads whose chains
  // are all the same) installed once by the leader with
  // SECCOMP_FILTER_FLAG_TSYNC, so the threads share them as after a TSYNC
  // install and a later TSYNC install still succeeds.
  enum class SeccompFrom { kOwn, kLeaderTsync, kLeader };
  void set_seccomp_from(SeccompFrom f) { seccomp_from_ = f; }

  Result<> Seccomp(const img::thread_core_entry& th) {
    if (seccomp_from_ == SeccompFrom::kLeader) return {};
    uint64_t flags = seccomp_from_ == SeccompFrom::kLeaderTsync ? SECCOMP_FILTER_FLAG_TSYNC : 0;
    if (th.seccomp_mode() == img::strict) {
      CRYO_TRY(t_.Check("seccomp strict", SYS_seccomp, SECCOMP_SET_MODE_STRICT, 0, 0));
      return {};
    }
    if (th.seccomp_mode() != img::filter) return {};
    const auto& all = s_.seccomp.seccomp_filters();
    uint32_t i = th.seccomp_filter();
    for (int guard = 0; guard < all.size(); guard++) {
      const auto& f = all.Get(static_cast<int>(i));
      if (f.filter().empty() || f.filter().size() % 8 != 0)
        return MakeError(0, "seccomp.img: filter {} has {} bytes", i, f.filter().size());
      ResetScratch();
      uint64_t code = CRYO_TRY(Put(f.filter().data(), f.filter().size()));
      struct {
        uint16_t len;
        uint64_t filter;
      } prog{static_cast<uint16_t>(f.filter().size() / 8), code};
      uint64_t at = CRYO_TRY(Put(&prog, sizeof prog));
      // With TSYNC a thread that cannot follow is named by its tid (> 0).
      long r = CRYO_TRY(t_.Check("seccomp filter", SYS_seccomp, SECCOMP_SET_MODE_FILTER, flags, at));
      if (r != 0) return MakeError(EBUSY, "seccomp filter {}: thread {} cannot share it", i, r);
      if (!f.has_prev()) return {};
      i = f.prev();
      if (i >= static_cast<uint32_t>(all.size())) return MakeError(0, "seccomp.img: bad prev {}", i);
    }
    return MakeError(0, "seccomp.img: the filter chain loops");
  }

  // Credentials, in the order the kernel allows: while still root, the
  // bounding set, groups and securebits (with keep-caps, so changing uid
  // keeps the permitted set); then gids and uids; then the capability sets
  // and ambient caps; then keep-caps as it was.
  Result<> Creds(const img::creds_entry& c) {
    auto mask = [](const google::protobuf::RepeatedField<uint32_t>& w) {
      return w.size() >= 2 ? (uint64_t{w[1]} << 32) | w[0] : w.size() == 1 ? uint64_t{w[0]} : 0;
    };
    uint64_t bnd = mask(c.cap_bnd());
    if (c.cap_bnd_size() > 0) {
      // Which of the caps to drop the task still has (one batch), then
      // the drops (another).
      SyscallBatch ask;
      std::vector<int> caps;
      for (int cap = 0; cap < 64; cap++) {
        if (bnd & (1ULL << cap)) continue;
        caps.push_back(cap);
        ask.Add(SYS_prctl, PR_CAPBSET_READ, static_cast<uint64_t>(cap));
      }
      std::vector<long> has = CRYO_TRY(RunBatch(ask));
      SyscallBatch drop;
      for (size_t k = 0; k < caps.size(); k++)
        if (has[k] == 1) drop.Add(SYS_prctl, PR_CAPBSET_DROP, static_cast<uint64_t>(caps[k]));
      CRYO_TRY(CheckAll(CRYO_TRY(RunBatch(drop)), "prctl(PR_CAPBSET_DROP)"));
    }
    // The rest in one batch, in that order; its arguments after the table.
    std::vector<gid_t> groups(c.groups().begin(), c.groups().end());
    constexpr uint64_t kData = 8192;  // past the table (at most 128 calls)
    uint64_t at = scratch_ + kData;
    uint64_t g = at;
    if (groups.size() * sizeof(gid_t) + kData + 256 > kTrampSize - kPage)
      return MakeError(E2BIG, "{} supplementary groups", groups.size());
    if (!groups.empty()) CRYO_TRY(t_.Write(g, groups.data(), groups.size() * sizeof(gid_t)));
    at += (groups.size() * sizeof(gid_t) + 15) & ~uint64_t{15};
    struct {
      uint32_t version;
      int pid;
    } hdr{0x20080522, 0};  // _LINUX_CAPABILITY_VERSION_3
    struct {
      uint32_t effective, permitted, inheritable;
    } data[2];
    uint64_t eff = mask(c.cap_eff()), prm = mask(c.cap_prm()), inh = mask(c.cap_inh());
    for (int i = 0; i < 2; i++)
      data[i] = {static_cast<uint32_t>(eff >> (32 * i)), static_cast<uint32_t>(prm >> (32 * i)),
                 static_cast<uint32_t>(inh >> (32 * i))};
    uint64_t h = at, d = at + 16;
    CRYO_TRY(t_.Write(h, &hdr, sizeof hdr));
    CRYO_TRY(t_.Write(d, data, sizeof data));
    constexpr uint32_t kKeepCaps = 1u << 4;  // SECBIT_KEEP_CAPS
    SyscallBatch b;
    std::vector<std::pair<size_t, const char*>> checked;
    auto add = [&](const char* what, long nr, uint64_t a1 = 0, uint64_t a2 = 0, uint64_t a3 = 0, uint64_t a4 = 0,
                   uint64_t a5 = 0) { checked.push_back({b.Add(nr, a1, a2, a3, a4, a5), what}); };
    add("setgroups", SYS_setgroups, groups.size(), groups.empty() ? 0 : g);
    add("prctl(PR_SET_SECUREBITS)", SYS_prctl, PR_SET_SECUREBITS, c.secbits() | kKeepCaps);
    add("setresgid", SYS_setresgid, c.gid(), c.egid(), c.sgid());
    b.Add(SYS_setfsgid, c.fsgid());  // returns the old fsgid, never an error
    add("setresuid", SYS_setresuid, c.uid(), c.euid(), c.suid());
    b.Add(SYS_setfsuid, c.fsuid());
    add("capset", SYS_capset, h, d);
    uint64_t amb = mask(c.cap_amb());
    for (int cap = 0; cap < 64; cap++)
      if (amb & (1ULL << cap))
        add("prctl(PR_CAP_AMBIENT_RAISE)", SYS_prctl, PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, static_cast<uint64_t>(cap));
    if (!(c.secbits() & kKeepCaps)) add("prctl(PR_SET_KEEPCAPS)", SYS_prctl, PR_SET_KEEPCAPS, 0);
    if (c.no_new_privs()) add("prctl(PR_SET_NO_NEW_PRIVS)", SYS_prctl, PR_SET_NO_NEW_PRIVS, 1);
    // Changed ids make the process undumpable (its /proc files root's, a
    // ptrace or /proc/PID/ns of it refused to its own user): as dumped again.
    if (ti_.mm.has_dumpable())
      add("prctl(PR_SET_DUMPABLE)", SYS_prctl, PR_SET_DUMPABLE, static_cast<uint64_t>(ti_.mm.dumpable()));
    std::vector<long> res = CRYO_TRY(RunBatch(b));
    for (auto [i, what] : checked)
      if (res[i] < 0 && res[i] > -4096) return MakeError(static_cast<int>(-res[i]), "{} in task {}", what, t_.tid());
    return {};
  }

 private:
  RemoteTask& t_;
  const ImageSet& s_;
  const TaskImages& ti_;
  uint64_t scratch_;
  size_t used_ = 0;
  int cryo_fd_ = -1;
  int tree_fd_ = -1;
  SeccompFrom seccomp_from_ = SeccompFrom::kOwn;
  Log& log_;
  const Ghosts* ghosts_;
  Memfds* memfds_;
  const SharedFiles* shared_;
};

// Creates thread `tid` in the task with clone3 run by the leader. Under
// PTRACE_O_TRACECLONE it starts traced and stopped, before any code runs.
Result<RemoteTask> CreateThread(RemoteTask& leader, Builder& b, pid_t tid, uint64_t tramp) {
  b.ResetScratch();
  pid_t want = tid;
  uint64_t set_tid = CRYO_TRY(b.Put(&want, sizeof want));
  clone_args args{};
  args.flags = CLONE_VM | CLONE_FS | CLONE_FILES | CLONE_SIGHAND | CLONE_THREAD | CLONE_SYSVSEM;
  args.set_tid = set_tid;
  args.set_tid_size = 1;
  // It never runs on this stack: it stops first, and gets its own registers.
  args.stack = tramp + kPage;
  args.stack_size = kTrampSize - kPage;
  uint64_t at = CRYO_TRY(b.Put(&args, sizeof args));
  long got = CRYO_TRY(leader.Check("clone3 thread", SYS_clone3, at, sizeof args));
  if (got != tid) return MakeError(EEXIST, "thread {} came back as {}", tid, got);
  // Its tid in cryo's pid namespace, from the clone event.
  pid_t host = leader.last_new_task() > 0 ? leader.last_new_task() : tid;
  int status;
  if (::waitpid(host, &status, __WALL) != host || !WIFSTOPPED(status))
    return MakeError(ECHILD, "new thread {} did not stop", tid);
  return RemoteTask::AtTrampoline(host, tramp);
}

// Everything the tasks of one restore use in common.
struct Common {
  const ImageSet& s;
  uint64_t tramp;
  Log& log;
  const Ghosts& ghosts;
  Memfds& memfds;
  const SharedFiles& shared;
  std::set<uint32_t>& epolls_done;
  std::set<uint32_t>& async_done;  // O_ASYNC files turned on again by a task
  const CpuPin& pin;
  cgroups::CgroupRestorer& cgroups;
  int cryo_fd;
  RestoredTree& tree;
  int tree_fd;  // the tasks' fd for the tree's root (-1: cryo's root)
  const std::map<uint32_t, pid_t>& last_of_table;  // files_id -> the last task built with that table
  const std::string& userns;  // the tree's user namespace (a path in cryo's /proc), "" for cryo's
  int userns_fd;              // the tasks' fd for it, -1 without
  LazyRestore* lazy;          // --lazy-pages; null without
  const mnt::NestedMounts& nested;  // the tasks' other mount namespaces
};

// A pidfd of cryo's at an fd number above every one the tasks had and
// every one cryo has: each task inherits it and takes cryo's files
// through it.
Result<UniqueFd> CryoPidfdForTasks(const ImageSet& s, int room) {
  int top = 2;
  for (const auto& t : s.tasks)
    for (const auto& f : t.fds) top = std::max(top, static_cast<int>(f.fd()));
  for (int fd : ListFds(::getpid())) top = std::max(top, fd);
  int want = top + 1;
  rlimit lim{};
  ::getrlimit(RLIMIT_NOFILE, &lim);
  if (static_cast<rlim_t>(want + room - 1) >= lim.rlim_cur) {
    lim.rlim_cur = std::min<rlim_t>(lim.rlim_max, static_cast<rlim_t>(want + room));
    if (::setrlimit(RLIMIT_NOFILE, &lim) != 0 || static_cast<rlim_t>(want + room - 1) >= lim.rlim_cur)
      return MakeError(EMFILE, "fd {} (above every dumped fd) is beyond cryo's fd limit", want);
  }
  UniqueFd self(static_cast<int>(::syscall(SYS_pidfd_open, ::getpid(), 0)));
  if (!self) return ErrnoError("pidfd_open cryo");
  if (::dup3(self.get(), want, O_CLOEXEC) != want) return ErrnoError("dup cryo's pidfd to {}", want);
  return UniqueFd(want);
}

// The cgroup set a thread was dumped in (0: none recorded, a zombie).
uint32_t CgSetOf(const img::core_entry& core) {
  if (core.has_thread_core() && core.thread_core().has_cg_set()) return core.thread_core().cg_set();
  if (core.has_tc() && core.tc().has_cg_set()) return core.tc().cg_set();
  return 0;
}

// The set task i was born in: its nearest ancestor's with one, or the set
// the dumping cryo was in (where this cryo is) for the root.
uint32_t BornIn(const ImageSet& s, size_t i) {
  for (int p = s.tasks[i].parent; p >= 0; p = s.tasks[static_cast<size_t>(p)].parent) {
    const auto& t = s.tasks[static_cast<size_t>(p)];
    if (!t.zombie && CgSetOf(t.cores[0]) != 0) return CgSetOf(t.cores[0]);
  }
  return s.inventory.root_cg_set();
}

// Whether every thread of the process has the same seccomp filter chain
// (same programs, oldest to newest) as its leader, in filter mode: then
// the leader installs it once for all with TSYNC (as CRIU does: identical
// chains cannot be told apart from chains a TSYNC install shared).
bool SeccompShared(const img::seccomp_entry& se, const TaskImages& ti) {
  const auto& all = se.seccomp_filters();
  auto chain = [&](const img::thread_core_entry& th) {
    std::vector<const std::string*> c;
    for (uint32_t i = th.seccomp_filter(); i < static_cast<uint32_t>(all.size()) && c.size() <= static_cast<size_t>(all.size());) {
      c.push_back(&all.Get(static_cast<int>(i)).filter());
      if (!all.Get(static_cast<int>(i)).has_prev()) break;
      i = all.Get(static_cast<int>(i)).prev();
    }
    return c;
  };
  const auto& lead = ti.cores[0].thread_core();
  if (ti.cores.size() < 2 || lead.seccomp_mode() != img::filter) return false;
  auto want = chain(lead);
  for (size_t i = 1; i < ti.cores.size(); i++) {
    const auto& th = ti.cores[i].thread_core();
    if (th.seccomp_mode() != img::filter) return false;
    auto got = chain(th);
    if (got.size() != want.size()) return false;
    for (size_t k = 0; k < got.size(); k++)
      if (*got[k] != *want[k]) return false;
  }
  return true;
}

// Builds one process of the tree, stopped at the trampoline, into what was
// dumped: memory, files, state, its threads; registers last.
Result<> Build(const Common& c, const TaskImages& ti, RemoteTask& t, img::restore_stats_entry& st) {
  // Two names for each task: its pid in the dump (what it calls itself,
  // in its pid namespace) and cryo's (for ptrace and /proc).
  pid_t pid = ti.pid(), host = t.tid();
  uint64_t tramp = c.tramp;
  Builder b(t, c.s, ti, tramp, c.log, &c.ghosts, &c.memfds, &c.shared);
  c.log.Info("restore pid {} (here {}): {} threads, {} vmas, {} fds", pid, host, ti.cores.size(), ti.mm.vmas_size(),
             ti.fds.size());
  b.set_cryo_fd(c.cryo_fd);
  b.set_tree_fd(c.tree_fd);
  if (c.userns_fd >= 0) CRYO_TRY_CTX(b.TakeUserns(c.userns, c.userns_fd), "user namespace");
  CRYO_TRY(FaultPoint("restore-memory"));
  // A task of another mount namespace maps its files from that one's root.
  if (int root = c.nested.RootFd(ti.ids.mnt_ns_id()); root >= 0)
    CRYO_TRY_CTX(b.Install(root, static_cast<uint32_t>(c.tree_fd), true), "mount namespace {}", ti.ids.mnt_ns_id());
  CRYO_TRY_CTX(b.MapVdso(host), "map the vDSO");
  CRYO_TRY_CTX(b.MapVmas(), "map memory");
  uint64_t pages = CRYO_TRY_CTX(b.LoadPages(), "load pages");
  st.set_pages_restored(st.pages_restored() + pages);
  c.log.Info("pid {}: memory mapped, {} pages read", pid, pages);
  if (c.lazy) CRYO_TRY_CTX(c.lazy->Prepare(t, ti), "lazy pages");
  CRYO_TRY_CTX(b.SetMm(), "set mm fields");
  // Into a mount namespace other than the root's: before its files (its
  // root and cwd are the namespace's from then on), after what it reads
  // from cryo's paths (pages).
  if (int ns = c.nested.Ns(ti.ids.mnt_ns_id()); ns >= 0)
    CRYO_TRY_CTX(b.JoinMnt(fmt::format("/proc/{}/fd/{}", ::getpid(), ns), c.tree_fd), "mount namespace {}",
                 ti.ids.mnt_ns_id());
  CRYO_TRY(FaultPoint("restore-files"));
  CRYO_TRY_CTX(b.OpenFds(), "open files");
  c.log.Info("pid {}: files, cwd and root in place", pid);
  CRYO_TRY_CTX(b.InFlightEpolls(c.epolls_done), "epoll");
  CRYO_TRY_CTX(b.Loginuid(host), "loginuid");
  if (ti.owns_files) CRYO_TRY(t.Check("close cryo's pidfd", SYS_close, static_cast<uint64_t>(c.cryo_fd)));
  // The tree's root fd serves every task of the table (mappings, cwd).
  if (c.tree_fd >= 0 && c.last_of_table.at(ti.ids.files_id()) == pid)
    CRYO_TRY(t.Check("close the tree's root", SYS_close, static_cast<uint64_t>(c.tree_fd)));
  CRYO_TRY_CTX(b.EpollTargets(c.epolls_done), "epoll");
  CRYO_TRY_CTX(b.ArmAsync(c.async_done), "signal-driven I/O");
  CRYO_TRY_CTX(b.Locks(pid), "file locks");
  // Into the tree's user namespace: after its files (taking cryo's fds
  // through the pidfd needs cryo's privileges over cryo), before its
  // threads (born there) and credentials (set as seen inside).
  if (c.userns_fd >= 0) CRYO_TRY_CTX(b.EnterUserns(c.userns_fd), "user namespace");
  CRYO_TRY_CTX(b.TaskState(host), "task state");
  bool tsync = SeccompShared(c.s.seccomp, ti);
  if (tsync) b.set_seccomp_from(Builder::SeccompFrom::kLeaderTsync);
  // Every signal blocked while cryo works in it, but SIGTRAP: the
  // breakpoints of its remote calls would reset a blocked SIGTRAP's handler.
  uint64_t all = ~(uint64_t{1} << (SIGTRAP - 1));
  if (ptrace(PTRACE_SETSIGMASK, host, sizeof all, &all) != 0) return ErrnoError("PTRACE_SETSIGMASK {}", pid);
  std::vector<RemoteTask> threads;
  for (size_t i = 1; i < ti.cores.size(); i++) {
    pid_t tid = static_cast<pid_t>(ti.task.threads(static_cast<int>(i)));
    threads.push_back(CRYO_TRY_CTX(CreateThread(t, b, tid, tramp), "create thread {}", tid));
    pid_t htid = threads.back().tid();
    c.log.Info("pid {}: thread {} made (here {})", pid, tid, htid);
    c.tree.NoteThread(tid, htid);
    CRYO_TRY(c.cgroups.MoveThread(htid, CgSetOf(ti.cores[i]), CgSetOf(ti.cores[0])));
    if (ptrace(PTRACE_SETSIGMASK, htid, sizeof all, &all) != 0) return ErrnoError("PTRACE_SETSIGMASK {}", tid);
    Builder tb(threads.back(), c.s, ti, tramp, c.log);
    if (tsync) tb.set_seccomp_from(Builder::SeccompFrom::kLeader);
    CRYO_TRY_CTX(tb.ThreadState(htid, ti.cores[i]), "thread {} state", tid);
    if (ti.cores[i].thread_core().has_signals_p())
      CRYO_TRY_CTX(tb.QueueSignals(pid, tid, ti.cores[i].thread_core().signals_p(), false), "signals of {}", tid);
  }
  CRYO_TRY_CTX(b.PosixTimers(), "POSIX timers");
  CRYO_TRY_CTX(b.ThreadState(host, ti.cores[0]), "thread {} state", pid);
  if (ti.cores[0].thread_core().has_signals_p())
    CRYO_TRY_CTX(b.QueueSignals(pid, pid, ti.cores[0].thread_core().signals_p(), false), "signals of {}", pid);
  if (ti.cores[0].tc().has_signals_s())
    CRYO_TRY_CTX(b.QueueSignals(pid, pid, ti.cores[0].tc().signals_s(), true), "shared signals");
  // Last remote call: the trampoline goes away. Then, with no syscall left
  // to run, the dumped masks (a pending signal they unblock is delivered
  // when the task runs, not to us).
  CRYO_TRY(t.Check("munmap trampoline", SYS_munmap, tramp, kTrampSize));
  for (size_t i = 0; i < ti.cores.size(); i++) {
    pid_t tid = (i == 0 ? t : threads[i - 1]).tid();
    const auto& th = ti.cores[i].thread_core();
    uint64_t mask = th.has_blk_sigset() ? th.blk_sigset() : ti.cores[0].tc().blk_sigset();
    if (ptrace(PTRACE_SETSIGMASK, tid, sizeof mask, &mask) != 0) return ErrnoError("PTRACE_SETSIGMASK {}", tid);
  }
  for (size_t i = 0; i < ti.cores.size(); i++) {
    RemoteTask& task = i == 0 ? t : threads[i - 1];
    x86::Regs regs = x86::RegsFromImage(ti.cores[i].thread_info().gpregs());
    x86::PrepareSyscallRestart(regs);
    regs.orig_rax = static_cast<uint64_t>(-1L);
    task.set_saved_regs(regs);
    CRYO_TRY(task.Restore());
  }
  c.log.Info("pid {}: built, registers set", pid);
  return {};
}

Result<Restored> RestoreTree(const Options& opts, const ImageSet& s, uint64_t tramp, Log& log, uint64_t t0,
                             Notifier* notify, LazyRestore* lazy) {
  // cryo goes into the tree's own namespaces (made or joined) for as long
  // as it creates the tree: the root and the sockets it hands out are born
  // there.
  auto namespaces = CRYO_TRY(ns::NamespaceGuard::Enter(s.tasks[0].ids, s.dir.get(), opts, log));
  // Its own mount tree, built in a new mount namespace cryo is in until
  // the tree is complete (after the namespaces it mounts for: sysfs is
  // the network namespace's, mqueue the IPC one's).
  std::unique_ptr<mnt::MountTree> mounts;
  if (uint32_t id = s.tasks[0].ids.mnt_ns_id();
      id != 0 && CRYO_TRY(ImageReader::Open(s.dir.get(), ImageKind::kMountpoints, id)).present())
    mounts = CRYO_TRY_CTX(mnt::MountTree::Enter(s.dir.get(), id, opts, log, namespaces.MadeMnt()), "mount namespace");
  mnt::TreeRoot where = mounts ? mounts->root() : mnt::TreeRoot();
  log.Info("{} processes to restore from {}; namespaces entered{}", s.tasks.size(), opts.images_dir,
           mounts ? ", mount tree built" : "");
  // The tasks are born on cryo's CPU and stay there while it builds them.
  CpuPin pin;
  Restored out;
  out.pid = s.tasks[0].pid();
  out.stats.set_pages_compared(0);
  out.stats.set_pages_skipped_cow(0);
  out.stats.set_pages_restored(0);
  // Cgroups made (or checked) before the first task exists; each task is
  // moved into its own as soon as it is born.
  auto cg = CRYO_TRY(cgroups::CgroupRestorer::Prepare(opts, s.dir.get(), s.inventory.root_cg_set(), log));
  // Not close-on-exec for the tasks: they are forks, not execs; the flag
  // only keeps it from programs cryo runs (action scripts).
  // With a user namespace of the tree's, one more: each task's fd for it
  // (ns/user.h), opened while the task still sees cryo's /proc.
  std::string userns = namespaces.UserPath();
  UniqueFd cryo_fd = CRYO_TRY(CryoPidfdForTasks(s, (mounts ? 2 : 1) + (userns.empty() ? 0 : 1)));
  int userns_fd = userns.empty() ? -1 : cryo_fd.get() + (mounts ? 2 : 1);
  // The tree's root for the tasks, next to it.
  UniqueFd tree_fd;
  if (mounts) {
    if (::dup3(where.fd(), cryo_fd.get() + 1, O_CLOEXEC) != cryo_fd.get() + 1) return ErrnoError("dup the tree's root");
    tree_fd = UniqueFd(cryo_fd.get() + 1);
  }
  std::map<uint32_t, pid_t> last_of_table;
  for (const auto& t : s.tasks)
    if (!t.zombie) last_of_table[t.ids.files_id()] = t.pid();
  // The tasks' other mount namespaces, made from the root's once it is
  // built.
  std::set<uint32_t> nested_ids;
  for (const auto& t : s.tasks)
    if (!t.zombie && t.ids.mnt_ns_id() != s.tasks[0].ids.mnt_ns_id()) nested_ids.insert(t.ids.mnt_ns_id());
  if (!nested_ids.empty() && !mounts)
    return MakeError(EINVAL, "tasks in mount namespaces of their own, and the root in cryo's");
  mnt::NestedMounts nested;
  // The files cryo makes for the tasks: once the root exists, before its
  // children (the tree's mounts need its pid namespace; a session's
  // terminal, taken as its members are born, must be there).
  Ghosts ghosts;
  Memfds memfds;
  SharedFiles shared;
  // --tcp-close at the dump or now: connections come back closed.
  shared.SetTcpClose(opts.tcp_close || s.inventory.tcp_close());
  auto make_files = [&](pid_t root) -> Result<> {
    if (mounts) CRYO_TRY_CTX(mounts->Finish(root), "mount namespace");
    if (!nested_ids.empty())
      nested = CRYO_TRY(mnt::NestedMounts::Make(nested_ids, s.dir.get(), opts, log, *mounts, root));
    CRYO_TRY_CTX(ghosts.Create(s, s.tasks[0].pid(), where,
                               [&](int mnt_id) { return nested.empty() ? where : nested.RootOf(*mounts, mnt_id); }),
                 "unlinked files");
    shared.SetGhostOf([&](uint32_t dev, uint64_t ino) { return ghosts.PathOfInode(dev, ino); });
    CRYO_TRY_CTX(memfds.Create(s), "memfd files");
    CRYO_TRY(shared.Create(s, [&](uint32_t id) -> Result<std::string> {
      if (s.kinds.at(id) == img::MEMFD) return memfds.PathOf(s.memfd_files.at(id).inode_id());
      const std::string* ghost = ghosts.PathOf(id);
      if (ghost) return *ghost;
      return std::string(CRYO_TRY(s.File(id))->name());
    }, opts.inherit_fd, where, [&](uint32_t index) { return mounts ? mounts->TakePty(index) : UniqueFd(); },
    [&](const img::reg_file_entry& f, int flags) -> Result<std::optional<UniqueFd>> {
      if (!mounts) return std::nullopt;
      if (!nested.empty()) return nested.Open(*mounts, f, flags);
      return mounts->OpenHidden(f.mnt_id(), f.name(), flags);
    }));
    return {};
  };
  auto placed = [&](size_t i, RemoteTask& t) -> Result<> {
    if (s.tasks[i].zombie) return {};
    // cryo's memory and fds go before the task has children: they are born
    // with nearly nothing to copy (forking a copy of cryo for each costs
    // what cryo's memory costs, which grows with the tree).
    Builder b(t, s, s.tasks[i], tramp, log);
    CRYO_TRY_CTX(b.DropInherited(t.tid(), tramp, cryo_fd.get(), tree_fd ? tree_fd.get() : -1), "clear new task {}",
                 t.tid());
    // The time namespace the tree's user namespace owns: the root joins
    // it before it has children, who are born there.
    if (i == 0 && !namespaces.RootTimeNs().empty())
      CRYO_TRY_CTX(b.JoinNs(namespaces.RootTimeNs(), CLONE_NEWTIME, "time"), "time namespace");
    uint32_t set = CgSetOf(s.tasks[i].cores[0]);
    if (i > 0) {
      CRYO_TRY_CTX(cg.MoveProcess(t.tid(), set, BornIn(s, i)), "cgroups of {}", t.tid());
      return {};
    }
    CRYO_TRY_CTX(cg.MoveRoot(t.tid(), set, BornIn(s, i), [&]() -> Result<> {
      CRYO_TRY(t.Check("unshare(CLONE_NEWCGROUP)", SYS_unshare, CLONE_NEWCGROUP));
      return {};
    }), "cgroups of {}", t.tid());
    return make_files(t.tid());
  };
  // The root's own pid namespace (pidns image): it is made with the root,
  // PID 1 there.
  bool new_pidns = s.tasks[0].ids.has_pid_ns_id() &&
                   CRYO_TRY(ImageReader::Open(s.dir.get(), ImageKind::kPidns, s.tasks[0].ids.pid_ns_id())).present();
  // --new-pidns: the dumped pids are taken here; the tree comes back in a
  // new pid namespace (its init is cryo's), at the same pids.
  std::optional<PidnsInit> pidns_init;
  if (opts.new_pidns) {
    if (new_pidns) return MakeError(EINVAL, "--new-pidns: the tree has a pid namespace of its own already");
    pidns_init.emplace(CRYO_TRY(PidnsInit::Start()));
  }
  RestoredTree tree =
      CRYO_TRY(RestoredTree::Fork(s, tramp, tramp + kPage, log, placed, opts.restore_sibling, new_pidns,
                                  tree_fd ? tree_fd.get() : -1));
  if (pidns_init) CRYO_TRY(pidns_init->Leave());
  out.pid = tree.host(0);
  if (log.enabled(LogLevel::kInfo))
    for (size_t i = 0; i < s.tasks.size(); i++)
      log.Info("forked pid {} (here {}){}", s.tasks[i].pid(), tree.host(i), s.tasks[i].zombie ? ", a zombie" : "");
  CRYO_TRY(Announce(notify, "setup-namespaces", out.pid));
  CRYO_TRY(Announce(notify, "post-setup-namespaces"));
  // The console's master, for the runtime to hand on (runc: its console
  // socket); without a client to take it the tree would have no master.
  if (!shared.orphan_masters().empty()) {
    if (!notify || !opts.orphan_pts_master)
      return MakeError(ENOTSUP, "the tree's terminal had its master outside the tree: restore through RPC with orphan_pts_master");
    for (const auto& m : shared.orphan_masters()) CRYO_TRY(notify->NotifyFd("orphan-pts-master", m.get()));
  }
  out.stats.set_forking_time(static_cast<uint32_t>(NowUs() - t0));
  // A pidfd names a task of the tree, or (outside a pid namespace of the
  // tree's own) any process by its pid.
  CRYO_TRY(shared.CreateAfterFork(s, [&](pid_t dumped) {
    pid_t h = tree.HostOf(s, dumped);
    return h != 0 ? h : (new_pidns ? 0 : dumped);
  }, where));
  std::set<uint32_t> epolls_done, async_done;
  Common c{s, tramp, log, ghosts, memfds, shared, epolls_done, async_done, pin, cg, cryo_fd.get(), tree,
           tree_fd ? tree_fd.get() : -1, last_of_table, userns, userns_fd, lazy, nested};
  for (size_t i = 0; i < s.tasks.size(); i++) {
    const TaskImages& ti = s.tasks[i];
    if (ti.zombie) continue;
    CRYO_TRY_CTX(Build(c, ti, tree.leader(i), out.stats), "restore {}", ti.pid());
  }
  shared.ReleaseDeadProcs();
  // Owners for SIGIO may be any task or thread: set once all exist.
  CRYO_TRY_CTX(RestoreOwners(s, tree, log), "file owners");
  CRYO_TRY_CTX(memfds.Seal(s), "memfd seals");
  CRYO_TRY_CTX(namespaces.RemoveSegments(), "SysV shared memory");
  log.Info("every process built; cgroup properties and the network next");
  CRYO_TRY(FaultPoint("restore-cgroups"));
  CRYO_TRY_CTX(cg.ApplyProperties(), "cgroup properties");
  // Frozen cgroups freeze with their tasks still held: they stay frozen.
  CRYO_TRY_CTX(cg.ApplyFreezer(), "cgroup freezer state");
  CRYO_TRY(Announce(notify, "post-restore", out.pid));
  CRYO_TRY(Announce(notify, "network-unlock"));
  CRYO_TRY_CTX(namespaces.UnlockNetwork(log), "network unlock");  // netns/lock.h
  // A tree in its dumper's network namespace had its connections locked
  // one by one there: lifted too.
  if (shared.HasConnections() && s.inventory.has_dump_criu_run_id()) {
    uint32_t m = s.inventory.network_lock_method();
    NetworkLock method = m == 1 ? NetworkLock::kNftables : m == 2 ? NetworkLock::kSkip : NetworkLock::kIptables;
    CRYO_TRY_CTX(netns::UnlockConnections(method, s.inventory.dump_criu_run_id(), log), "network unlock");
  }
  CRYO_TRY(Announce(notify, "pre-resume"));
  if (mounts) CRYO_TRY_CTX(mounts->Pivot(), "mount namespace");
  // TCP connections leave repair mode last, the network open (their
  // window probes reach the peers), just before the tasks run: until
  // then a failed restore closes them in repair mode, without a word.
  CRYO_TRY_CTX(shared.ResumeConnections(), "TCP connections");
  if (lazy) CRYO_TRY_CTX(lazy->Finish(), "lazy pages");
  ghosts.RemoveGhosts();
  CRYO_TRY(tree.Release(s, c.pin.ok() ? &c.pin.saved() : nullptr));
  log.Info("the tree runs");
  ghosts.Restored();
  cg.Commit();
  if (pidns_init) CRYO_TRY(pidns_init->Watch(s.tasks[0].pid()));
  if (lazy) CRYO_TRY_CTX(lazy->Running(), "lazy pages");
  // The tree runs: nothing a client says now can undo that.
  if (auto r = Announce(notify, "post-resume"); !r) log.Warn("post-resume: {}", r.error().what());
  out.stats.set_restore_time(static_cast<uint32_t>(NowUs() - t0));
  return out;
}

}  // namespace

Result<Restored> Restore(const Options& opts, Log& log, Notifier* notify) {
  uint64_t t0 = NowUs();
  CRYO_TRY(Announce(notify, "pre-restore"));
  // --lazy-pages: the daemon is there before anything is made (and
  // reached in cryo's own mount namespace).
  std::optional<LazyRestore> lazy;
  if (opts.lazy_pages) lazy.emplace(CRYO_TRY_CTX(LazyRestore::Connect(opts.WorkDir()), "lazy pages"));
  ImageSet s = CRYO_TRY(ReadImageSet(opts.images_dir, opts.lazy_pages));
  uint64_t tramp = CRYO_TRY(MapTrampoline(s));
  auto out = RestoreTree(opts, s, tramp, log, t0, notify, lazy ? &*lazy : nullptr);
  ::munmap(reinterpret_cast<void*>(tramp), kTrampSize);
  if (!out) return std::unexpected(out.error());
  log.Info("restored {} ({} processes)", out->pid, s.tasks.size());
  return out;
}

}  // namespace cryo
