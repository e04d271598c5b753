#include "engine/dump/memfd.h"

#include <fcntl.h>
#include <linux/magic.h>
#include <sys/mman.h>
#include <sys/vfs.h>
#include <unistd.h>

#include <bit>

#include <vector>

#include "engine/base/files.h"
#include "engine/image/image_writer.h"
#include "engine/image/proto/mm.pb.h"

namespace cryo {

std::string MemfdName(const std::string& link) {
  std::string n = link;
  if (n.starts_with("/")) n.erase(0, 1);
  if (n.starts_with("memfd:")) n.erase(0, 6);
  constexpr std::string_view kDeleted = " (deleted)";
  if (n.ends_with(kDeleted)) n.resize(n.size() - kDeleted.size());
  return n;
}

Result<uint32_t> MemfdTable::Inode(const std::string& open_path, const std::string& link) {
  struct stat st;
  if (::stat(open_path.c_str(), &st) != 0) return ErrnoError("stat {}", open_path);
  if (auto it = by_ino_.find(st.st_ino); it != by_ino_.end()) return it->second.entry.inode_id();
  UniqueFd fd = CRYO_TRY(Open(open_path, O_RDONLY));
  int seals = ::fcntl(fd.get(), F_GET_SEALS);
  Inode_ in;
  in.open_path = open_path;
  auto& e = in.entry;
  e.set_name(MemfdName(link));
  e.set_uid(st.st_uid);
  e.set_gid(st.st_gid);
  e.set_mode(st.st_mode);
  e.set_size(static_cast<uint64_t>(st.st_size));
  e.set_shmid(static_cast<uint32_t>(st.st_ino));
  e.set_seals(seals < 0 ? 0 : static_cast<uint32_t>(seals));
  // A memfd of huge pages (MFD_HUGETLB): made again with the same page size.
  struct statfs sfs;
  if (::fstatfs(fd.get(), &sfs) != 0) return ErrnoError("statfs {}", open_path);
  if (static_cast<uint64_t>(sfs.f_type) == HUGETLBFS_MAGIC) {
    auto shift = static_cast<uint32_t>(std::countr_zero(static_cast<uint64_t>(sfs.f_bsize)));
    constexpr uint32_t kHugeShift = 26;  // MFD_HUGE_SHIFT
    e.set_hugetlb_flag(MFD_HUGETLB | (shift << kHugeShift));
  }
  e.set_inode_id(static_cast<uint32_t>(st.st_ino));
  by_ino_[st.st_ino] = std::move(in);
  return static_cast<uint32_t>(st.st_ino);
}

Result<> MemfdTable::AnonShared(const std::string& open_path, uint64_t shmid) {
  if (by_ino_.count(shmid)) return {};
  struct stat st;
  if (::stat(open_path.c_str(), &st) != 0) return ErrnoError("stat {}", open_path);
  Inode_ in;
  in.open_path = open_path;
  in.anon = true;
  in.entry.set_name("dev/zero");
  in.entry.set_size(static_cast<uint64_t>(st.st_size));
  in.entry.set_shmid(static_cast<uint32_t>(shmid));
  by_ino_[shmid] = std::move(in);
  return {};
}

Result<MemfdTable::Counts> MemfdTable::Write(int dir, PageSink& sink) {
  ImageWriter inodes(dir, ImageKind::kMemfdInode);
  Counts counts;
  for (auto& [ino, in] : by_ino_) {
    if (!in.anon) CRYO_TRY(inodes.Write(in.entry));
    // The data regions (holes stay holes), whole pages.
    UniqueFd fd = CRYO_TRY(Open(in.open_path, O_RDONLY));
    CRYO_TRY(sink.Open(ImageKind::kShmemPagemap, in.entry.shmid()));
    off_t size = static_cast<off_t>(in.entry.size());
    counts.scanned += static_cast<uint64_t>((size + 4095) / 4096);
    off_t at = 0;
    std::vector<char> buf(1 << 20);
    while (at < size) {
      off_t data = ::lseek(fd.get(), at, SEEK_DATA);
      // hugetlbfs knows no holes (EINVAL): all of it is data.
      bool holes = !(data < 0 && errno == EINVAL);
      if (!holes) data = at;
      if (data < 0) break;  // ENXIO: only a hole is left
      off_t hole = holes ? ::lseek(fd.get(), data, SEEK_HOLE) : size;
      if (hole < 0) hole = size;
      off_t start = data & ~off_t{4095};
      off_t end = std::min<off_t>((hole + 4095) & ~off_t{4095}, (size + 4095) & ~off_t{4095});
      img::pagemap_entry e;
      e.set_vaddr(static_cast<uint64_t>(start));
      e.set_nr_pages(static_cast<uint32_t>((end - start) / 4096));
      e.set_nr_pages_64(static_cast<uint64_t>((end - start) / 4096));
      e.set_flags(1u << 2);
      CRYO_TRY(sink.Entry(e));
      counts.written += e.nr_pages_64();
      for (off_t o = start; o < end;) {
        size_t n = static_cast<size_t>(std::min<off_t>(end - o, static_cast<off_t>(buf.size())));
        ssize_t r = ::pread(fd.get(), buf.data(), n, o);
        if (r < 0) return ErrnoError("read memfd {}", in.entry.name());
        std::fill(buf.begin() + r, buf.begin() + static_cast<long>(n), 0);  // past EOF: zeros
        CRYO_TRY(sink.Pages(std::string_view(buf.data(), n)));
        o += static_cast<off_t>(n);
      }
      at = end;
    }
    CRYO_TRY(sink.Close());
  }
  CRYO_TRY(inodes.Close());
  return counts;
}

}  // namespace cryo
