#include "engine/dump/memory.h"

#include <sys/stat.h>

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/vfs.h>

#include <bit>

#include <memory>
#include <vector>

#include "engine/image/image_reader.h"
#include "engine/image/image_writer.h"
#include "engine/mem/page_read.h"
#include "engine/mem/page_scan.h"
#include "engine/mem/pagemap_flags.h"
#include "engine/proc/proc.h"

namespace cryo {
namespace {

// VMA status bits of vma_entry (CRIU's VMA_AREA_*).
constexpr uint32_t kRegular = 1u << 0, kStack = 1u << 1, kVsyscall = 1u << 2, kVdso = 1u << 3,
                   kHeap = 1u << 5, kFilePrivate = 1u << 6, kFileShared = 1u << 7,
                   kAnonShared = 1u << 8, kAnonPrivate = 1u << 9, kSysvIpc = 1u << 10, kVvar = 1u << 12,
                   kMemfd = 1u << 14, kGuard = 1u << 16;

constexpr uint32_t kMapDroppable = 0x08;  // MAP_DROPPABLE (Linux 6.11)

constexpr uint64_t kPage = kPageBytes;
constexpr uint64_t kTaskSize = 0x7ffffffff000ULL;
// Pages are copied through a bounded buffer: the dumper's memory does not
// grow with the process's.
constexpr uint64_t kChunk = 4 << 20;

uint64_t MadviseBits(const Vma& v) {
  uint64_t m = 0;
  if (v.HasFlag("sr")) m |= 1ULL << MADV_SEQUENTIAL;
  if (v.HasFlag("rr")) m |= 1ULL << MADV_RANDOM;
  if (v.HasFlag("dd")) m |= 1ULL << MADV_DONTDUMP;
  if (v.HasFlag("dc")) m |= 1ULL << MADV_DONTFORK;
  if (v.HasFlag("hg")) m |= 1ULL << MADV_HUGEPAGE;
  if (v.HasFlag("nh")) m |= 1ULL << MADV_NOHUGEPAGE;
  if (v.HasFlag("mg")) m |= 1ULL << MADV_MERGEABLE;
  if (v.HasFlag("wf")) m |= 1ULL << MADV_WIPEONFORK;
  return m;
}

// How the mapping's file was opened: the map_files link's owner bits show
// the file's f_mode (read, write). A shared mapping made read-only of a
// file opened O_RDWR may be mprotect()ed writable: restored, it must be
// the same.
Result<uint32_t> MappedFileMode(pid_t pid, const Vma& v) {
  std::string link = fmt::format("/proc/{}/map_files/{:x}-{:x}", pid, v.start, v.end);
  struct stat st;
  if (::lstat(link.c_str(), &st) != 0) return ErrnoError("lstat {}", link);
  if ((st.st_mode & S_IRUSR) && (st.st_mode & S_IWUSR)) return O_RDWR;
  if (st.st_mode & S_IWUSR) return O_WRONLY;
  return O_RDONLY;
}

// MAP_HUGETLB with the MAP_HUGE_* bits of a hugetlb mapping's page size
// (the block size of its hugetlbfs file).
Result<uint32_t> HugeFlags(pid_t pid, const Vma& v) {
  std::string link = fmt::format("/proc/{}/map_files/{:x}-{:x}", pid, v.start, v.end);
  struct statfs sfs;
  if (::statfs(link.c_str(), &sfs) != 0) return ErrnoError("statfs {}", link);
  auto shift = static_cast<uint32_t>(std::countr_zero(static_cast<uint64_t>(sfs.f_bsize)));
  return MAP_HUGETLB | (shift << MAP_HUGE_SHIFT);
}

}  // namespace

Result<> DumpVmas(pid_t pid, img::mm_entry& mm, const FileIdFor& file_id, const MemfdIdFor& memfd_id) {
  std::vector<Vma> vmas = CRYO_TRY(ReadSmaps(pid));
  for (const Vma& v : vmas) {
    img::vma_entry* e = mm.add_vmas();
    e->set_start(v.start);
    e->set_end(v.end);
    e->set_pgoff(v.pgoff);
    e->set_shmid(0);
    e->set_prot(v.prot);
    e->set_fd(-1);
    uint32_t flags = v.shared ? MAP_SHARED : MAP_PRIVATE;
    // A droppable mapping is a type of its own, neither private nor shared.
    if (v.HasFlag("dp")) flags = kMapDroppable;
    if (v.HasFlag("gd")) flags |= MAP_GROWSDOWN;
    if (v.HasFlag("lo")) flags |= MAP_LOCKED;
    if (v.HasFlag("nr")) flags |= MAP_NORESERVE;
    uint32_t status = kRegular;
    if (v.path == "[vdso]") {
      status |= kVdso;
      flags |= MAP_ANONYMOUS;
    } else if (v.path == "[vvar]" || v.path == "[vvar_vclock]") {
      status |= kVvar;
      flags |= MAP_ANONYMOUS;
    } else if (v.path == "[vsyscall]") {
      status = kVsyscall;
      flags |= MAP_ANONYMOUS;
    } else if (v.path == "[heap]") {
      status |= kHeap | kAnonPrivate;
      flags |= MAP_ANONYMOUS;
    } else if (v.path == "[stack]") {
      status |= kStack | kAnonPrivate;
      flags |= MAP_ANONYMOUS;
    } else if (v.path == "/anon_hugepage" && v.deleted && v.HasFlag("ht")) {
      // Anonymous memory of huge pages (MAP_HUGETLB): the shared kind
      // is an object like /dev/zero's, on hugetlbfs.
      flags |= MAP_ANONYMOUS | CRYO_TRY(HugeFlags(pid, v));
      if (v.shared) {
        status |= kAnonShared;
        e->set_shmid(v.ino);
      } else {
        status |= kAnonPrivate;
      }
    } else if (v.shared && v.path == "/dev/zero" && v.deleted) {
      status |= kAnonShared;
      flags |= MAP_ANONYMOUS;
      e->set_shmid(v.ino);
    } else if (v.shared && v.deleted && v.path.size() == 13 && v.path.starts_with("/SYSV") &&
               v.path.find_first_not_of("0123456789abcdef", 5) == std::string::npos) {
      // An attached SysV segment (its inode is its id): the IPC namespace
      // keeps its contents (ipcns-shm), the task attaches it again.
      status |= kSysvIpc;
      e->set_shmid(v.ino);
      struct stat st;
      std::string file = fmt::format("/proc/{}/map_files/{:x}-{:x}", pid, v.start, v.end);
      if (::stat(file.c_str(), &st) != 0) return ErrnoError("stat {}", file);
      uint64_t whole = (static_cast<uint64_t>(st.st_size) + kPage - 1) & ~(kPage - 1);
      if (v.pgoff != 0 || v.end - v.start != whole)
        return MakeError(ENOTSUP, "pid {}: SysV shared memory {} is mapped in part at {:#x}-{:#x}: not supported", pid,
                         v.ino, v.start, v.end);
    } else if (!v.shared && v.path == "/dev/zero" && v.deleted) {
      // A shared anonymous object (its map_files link reopened) mapped
      // privately: a file mapping of it, the object kept as a memfd is
      // (CRIU's VMA_AREA_MEMFD); its shared mappings name the same inode.
      status |= kMemfd | kFilePrivate;
      e->set_shmid(CRYO_TRY(memfd_id(v.start, v.end, v.path)));
      e->set_fdflags(CRYO_TRY(MappedFileMode(pid, v)));
    } else if (v.path.starts_with("socket:[")) {
      // A packet socket's RX/TX ring mapped: its pages are the socket's,
      // and a restore would need the socket mapped again in its place.
      return MakeError(ENOTSUP, "pid {}: the ring of socket {} is mapped at {:#x}-{:#x}: not supported", pid,
                       v.path.substr(7), v.start, v.end);
    } else if (v.path.starts_with("/memfd:")) {
      status |= kMemfd | (v.shared ? kFileShared : kFilePrivate);
      e->set_shmid(CRYO_TRY(memfd_id(v.start, v.end, v.path)));
      e->set_fdflags(CRYO_TRY(MappedFileMode(pid, v)));
    } else if (!v.path.empty() && v.path.front() == '/') {
      if (v.path.starts_with("/SYSV"))
        return MakeError(ENOTSUP, "pid {}: mapping {:#x}-{:#x} of {}{} is not supported yet", pid,
                         v.start, v.end, v.path, v.deleted ? " (deleted)" : "");
      status |= v.shared ? kFileShared : kFilePrivate;
      uint32_t mode = CRYO_TRY(MappedFileMode(pid, v));
      e->set_fdflags(mode);
      // An unlinked file is reached through map_files (and remapped).
      uint32_t id = CRYO_TRY(file_id(v.deleted ? v.path + " (deleted)" : v.path,
                                     fmt::format("/proc/{}/map_files/{:x}-{:x}", pid, v.start, v.end),
                                     v.shared && mode == O_RDWR));
      e->set_shmid(id);
    } else {
      status |= kAnonPrivate;
      flags |= MAP_ANONYMOUS;
    }
    e->set_flags(flags);
    e->set_status(status);
    if (uint64_t m = MadviseBits(v)) e->set_madv(m);
  }
  // Guard regions are no mappings of their own: entries after the
  // mappings, as CRIU writes them, installed again once the pages are in.
  UniqueFd pagemap = CRYO_TRY(OpenPagemap(pid));
  for (const PageRun& g : CRYO_TRY(ScanGuards(pagemap.get(), 0, kTaskSize))) {
    img::vma_entry* e = mm.add_vmas();
    e->set_start(g.start);
    e->set_end(g.end);
    e->set_pgoff(0);
    e->set_shmid(0);
    e->set_prot(0);
    e->set_flags(0);
    e->set_status(kGuard);
    e->set_fd(-1);
  }
  return {};
}

Result<ParentCover> ReadParentCover(int parent_dir, pid_t image_pid) {
  auto pm = ImageReader::Open(parent_dir, ImageKind::kPagemap, static_cast<uint64_t>(image_pid));
  if (!pm) {
    if (pm.error().err() == ENOENT) return ParentCover{};
    return std::unexpected(pm.error().context("parent images"));
  }
  img::pagemap_head head;
  if (!CRYO_TRY(pm->Next(head))) return ParentCover{};
  // What the parent holds itself or further up; not what stayed with a
  // lazy dump's page server.
  std::vector<img::pagemap_entry> held;
  img::pagemap_entry e;
  while (CRYO_TRY(pm->Next(e))) {
    uint32_t flags = PagemapFlags(e);
    if (e.vaddr() % kPage) return MakeError(EINVAL, "parent {}: an entry at {:#x}", pm->name(), e.vaddr());
    if (!held.empty() && e.vaddr() < held.back().vaddr() + PagemapPages(held.back()) * kPage)
      return MakeError(EINVAL, "parent {}: pagemap entries out of order at {:#x}", pm->name(), e.vaddr());
    if ((flags & (kPePresent | kPeParent)) && !(flags & kPeLazy)) held.push_back(e);
  }
  return EntryRuns(held);
}

Result<MemStats> DumpPages(pid_t pid, const img::mm_entry& mm, PageSink& sink, Log& log, pid_t image_pid,
                           const ParentCover* parent, bool lazy) {
  MemStats stats;
  UniqueFd pagemap = CRYO_TRY(OpenPagemap(pid));
  RemoteMemory mem = CRYO_TRY(RemoteMemory::Open(pid));
  CRYO_TRY(sink.Open(ImageKind::kPagemap, static_cast<uint64_t>(image_pid > 0 ? image_pid : pid)));
  // Not zeroed: a small tree member touches a few pages of it, and zeroing
  // 4 MiB for each process of a large tree cost more than its pages.
  auto buf = std::make_unique_for_overwrite<char[]>(kChunk);
  // Guard pages read as swapped to PAGEMAP_SCAN; they hold nothing and
  // cannot be read.
  std::vector<PageRun> guards;
  for (const img::vma_entry& v : mm.vmas())
    if (v.status() & kGuard) guards.push_back({v.start(), v.end()});
  for (const img::vma_entry& v : mm.vmas()) {
    // Shared memory has its contents in pagemap-shmem images.
    if (v.status() & (kVdso | kVvar | kVsyscall | kFileShared | kAnonShared | kSysvIpc | kGuard)) continue;
    // The kernel may drop a droppable mapping's pages at any time: its
    // users expect zeroes after restore as after any reclaim (as CRIU).
    if ((v.flags() & 0x0f) == kMapDroppable) continue;
    stats.pages_scanned += (v.end() - v.start()) / kPage;
    PageSelect sel = (v.status() & kFilePrivate) ? PageSelect::kAnonOnly : PageSelect::kAll;
    std::vector<PageRun> runs = CRYO_TRY(ScanPages(pagemap.get(), v.start(), v.end(), sel, parent != nullptr));
    if (!guards.empty()) runs = Subtract(runs, guards);  // (clean runs become dirty: written again)
    bool readable = v.prot() & PROT_READ;
    // Split runs into chunks that fit the buffer; one read per chunk.
    std::vector<PageRun> batch;
    uint64_t batch_bytes = 0;
    auto flush = [&]() -> Result<> {
      if (batch.empty()) return {};
      CRYO_TRY(mem.ReadRuns(batch, buf.get(), readable));
      CRYO_TRY(sink.Pages(std::string_view(buf.get(), batch_bytes)));
      batch.clear();
      batch_bytes = 0;
      return {};
    };
    auto entry = [&](PageRun r, uint32_t flags) -> Result<> {
      img::pagemap_entry e;
      e.set_vaddr(r.start);
      e.set_nr_pages(static_cast<uint32_t>(r.pages()));
      e.set_nr_pages_64(r.pages());
      e.set_flags(flags);
      return sink.Entry(e);
    };
    auto in_parent = [&](PageRun r) -> Result<> {
      CRYO_TRY(entry(r, kPeParent));
      stats.pages_skipped_parent += r.pages();
      return {};
    };
    auto present = [&](PageRun r) -> Result<> {
      CRYO_TRY(entry(r, kPePresent));
      stats.pages_written += r.pages();
      while (r.start < r.end) {
        uint64_t take = std::min(r.end - r.start, kChunk - batch_bytes);
        batch.push_back({r.start, r.start + take});
        batch_bytes += take;
        r.start += take;
        if (batch_bytes == kChunk) CRYO_TRY(flush());
      }
      return {};
    };
    // Clean runs are split where the parent holds them and where not (a
    // page that appeared since, read-faulted in, say).
    size_t c = 0;
    for (PageRun r : runs) {
      if (lazy && IsLazyVma(v)) {  // served from the frozen tree later
        CRYO_TRY(entry(r, kPeLazy));
        stats.pages_lazy += r.pages();
        continue;
      }
      if (!r.clean || !parent) {
        CRYO_TRY(present(r));
        continue;
      }
      while (c < parent->size() && (*parent)[c].end <= r.start) c++;
      uint64_t at = r.start;
      for (size_t k = c; at < r.end && k < parent->size() && (*parent)[k].start < r.end; k++) {
        const PageRun& p = (*parent)[k];
        if (p.start > at) CRYO_TRY(present({at, p.start}));
        uint64_t e = std::min(p.end, r.end);
        CRYO_TRY(in_parent({std::max(at, p.start), e}));
        at = e;
      }
      if (at < r.end) CRYO_TRY(present({at, r.end}));
    }
    CRYO_TRY(flush());
  }
  CRYO_TRY(sink.Close());
  log.Info("pid {}: {} pages written, {} in the parent images, {} lazy, of {} scanned", pid, stats.pages_written,
           stats.pages_skipped_parent, stats.pages_lazy, stats.pages_scanned);
  return stats;
}

}  // namespace cryo
