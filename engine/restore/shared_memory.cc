#include "engine/restore/shared_memory.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>

#include "engine/base/files.h"
#include "engine/image/image_reader.h"
#include "engine/image/proto/mm.pb.h"

namespace cryo {
namespace {

constexpr uint64_t kPage = 4096;
constexpr uint32_t kAnonShared = 1u << 8;  // VMA_ANON_SHARED

}  // namespace

Result<> Memfds::Create(const ImageSet& s) {
  std::map<uint64_t, uint64_t> sizes;  // shmid -> size
  std::map<uint64_t, uint32_t> huge;   // shmid -> MAP_HUGETLB and its size bits
  for (const auto& t : s.tasks)
    for (const auto& v : t.mm.vmas())
      if (v.status() & kAnonShared) {
        sizes[v.shmid()] = std::max(sizes[v.shmid()], v.pgoff() + v.end() - v.start());
        huge[v.shmid()] = v.flags() & (MAP_HUGETLB | (MAP_HUGE_MASK << MAP_HUGE_SHIFT));
      }
  for (const auto& [inode_id, e] : s.memfd_inodes) {
    int fd;
    if (auto shared = sizes.find(e.shmid()); shared != sizes.end()) {
      // A shared anonymous object some mapping took privately (through
      // its /proc link): made as one again, under its own name.
      UniqueFd obj =
          CRYO_TRY_CTX(AnonObject(std::max(shared->second, e.size()), huge[e.shmid()]), "shared memory {}", e.shmid());
      UniqueFd again(::fcntl(obj.get(), F_DUPFD_CLOEXEC, 0));
      if (!again) return ErrnoError("dup shared memory {}", e.shmid());
      anon_[e.shmid()] = std::move(again);
      sizes.erase(shared);
      fd = obj.release();
    } else {
      unsigned flags = MFD_CLOEXEC | MFD_ALLOW_SEALING | (e.has_hugetlb_flag() ? e.hugetlb_flag() : 0);
      fd = static_cast<int>(::syscall(SYS_memfd_create, e.name().c_str(), flags));
      if (fd < 0) return ErrnoError("memfd_create {}", e.name());
    }
    fds_[inode_id] = UniqueFd(fd);
    if (::ftruncate(fd, static_cast<off_t>(e.size())) != 0) return ErrnoError("size memfd {}", e.name());
    CRYO_TRY_CTX(Fill(s, fd, e.shmid(), e.size(), e.has_hugetlb_flag()), "memfd {}", e.name());
    if (::fchown(fd, e.uid(), e.gid()) != 0) return ErrnoError("chown memfd {}", e.name());
    // After the owner: chown clears set-id bits.
    if (e.has_mode() && ::fchmod(fd, e.mode() & 07777) != 0) return ErrnoError("chmod memfd {}", e.name());
  }
  for (auto [shmid, size] : sizes) {
    UniqueFd fd = CRYO_TRY_CTX(AnonObject(size, huge[shmid]), "shared memory {}", shmid);
    CRYO_TRY_CTX(Fill(s, fd.get(), shmid, size, huge[shmid] != 0), "shared memory {}", shmid);
    anon_[shmid] = std::move(fd);
  }
  return {};
}

// A new shared anonymous object ("/dev/zero (deleted)", or of huge
// pages with `huge`: "/anon_hugepage (deleted)"), by its map_files link.
Result<UniqueFd> Memfds::AnonObject(uint64_t size, uint32_t huge) {
  void* p = ::mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS | static_cast<int>(huge), -1, 0);
  if (p == MAP_FAILED) return ErrnoError("map {} bytes", size);
  auto a = reinterpret_cast<uint64_t>(p);
  auto fd = Open(fmt::format("/proc/self/map_files/{:x}-{:x}", a, a + size), O_RDWR | O_CLOEXEC);
  ::munmap(p, size);
  return fd;
}

Result<std::string> Memfds::PathOf(uint32_t inode_id) const {
  auto it = fds_.find(inode_id);
  if (it == fds_.end()) return MakeError(0, "no memfd inode {}", inode_id);
  return fmt::format("/proc/{}/fd/{}", ::getpid(), it->second.get());
}

int Memfds::FdOf(uint32_t inode_id) const {
  auto it = fds_.find(inode_id);
  return it == fds_.end() ? -1 : it->second.get();
}

int Memfds::TakeForWriter(uint32_t inode_id) {
  int fd = FdOf(inode_id);
  if (fd < 0 || !writer_taken_.insert(inode_id).second) return -1;
  return fd;
}

Result<std::string> Memfds::AnonPathOf(uint64_t shmid) const {
  auto it = anon_.find(shmid);
  if (it == anon_.end()) return MakeError(0, "no shared memory {}", shmid);
  return fmt::format("/proc/{}/fd/{}", ::getpid(), it->second.get());
}

Result<> Memfds::Seal(const ImageSet& s) {
  for (const auto& [inode_id, e] : s.memfd_inodes) {
    int fd = fds_.at(inode_id).get();
    // A shared anonymous object is born sealed against sealing.
    int have = ::fcntl(fd, F_GET_SEALS);
    if (e.seals() == 0 || (have >= 0 && (static_cast<uint32_t>(have) & e.seals()) == e.seals())) continue;
    if (::fcntl(fd, F_ADD_SEALS, e.seals()) != 0) return ErrnoError("seal memfd {}", e.name());
  }
  return {};
}

// Contents from pagemap-shmem-<shmid>.img, by offset; holes stay holes.
// hugetlbfs has no write(): its files are filled through a mapping.
Result<> Memfds::Fill(const ImageSet& s, int fd, uint64_t shmid, uint64_t size, bool hugetlb) {
  char* map = nullptr;
  if (hugetlb && size > 0) {
    void* p = ::mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (p == MAP_FAILED) return ErrnoError("map {} bytes of huge pages", size);
    map = static_cast<char*>(p);
  }
  auto r = FillWith(s, shmid, size, [&](const std::string& data, uint64_t keep, uint64_t at) -> Result<> {
    if (map) {
      std::memcpy(map + at, data.data(), keep);
      return {};
    }
    if (::pwrite(fd, data.data(), keep, static_cast<off_t>(at)) != static_cast<ssize_t>(keep))
      return ErrnoError("write {} bytes at {:#x}", keep, at);
    return {};
  });
  if (map) ::munmap(map, size);
  return r;
}

template <typename Put>
Result<> Memfds::FillWith(const ImageSet& s, uint64_t shmid, uint64_t size, Put&& put) {
  ImageReader pm = CRYO_TRY(ImageReader::Open(s.dir.get(), ImageKind::kShmemPagemap, shmid));
  img::pagemap_head head;
  if (!pm.present() || !CRYO_TRY(pm.Next(head))) return {};
  ImageReader pages = CRYO_TRY(ImageReader::Open(s.dir.get(), ImageKind::kPages, head.pages_id()));
  img::pagemap_entry pe;
  while (CRYO_TRY(pm.Next(pe))) {
    uint64_t n = (pe.has_nr_pages_64() ? pe.nr_pages_64() : pe.nr_pages()) * kPage;
    std::string data = CRYO_TRY(pages.ReadPayload(n));
    uint64_t keep = std::min<uint64_t>(n, size > pe.vaddr() ? size - pe.vaddr() : 0);
    CRYO_TRY(put(data, keep, pe.vaddr()));
  }
  return {};
}

}  // namespace cryo
