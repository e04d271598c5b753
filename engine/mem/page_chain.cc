#include "engine/mem/page_chain.h"

#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/falloc.h>
#include <stdlib.h>

#include <algorithm>
#include <cstdio>

#include "engine/base/files.h"
#include "engine/image/image_dir.h"
#include "engine/image/image_reader.h"
#include "engine/image/image_type.h"
#include "engine/mem/pagemap_flags.h"

namespace cryo {
namespace {

constexpr uint64_t kPage = kPageBytes;
// A chain longer than this is a loop of links, or no real use.
constexpr size_t kMaxLevels = 64;

}  // namespace

Result<std::vector<PageChain::Entry>> PageChain::Entries(const std::vector<img::pagemap_entry>& pagemap,
                                                          const std::string& what) {
  std::vector<Entry> out;
  uint64_t offset = 0;
  for (const auto& e : pagemap) {
    uint64_t n = PagemapPages(e);
    uint32_t flags = PagemapFlags(e);
    if (e.vaddr() % kPage || n == 0 || n > (UINT64_MAX - e.vaddr()) / kPage)
      return MakeError(EINVAL, "{}: a pagemap entry of {} pages at {:#x}", what, n, e.vaddr());
    // PE_LAZY alone: the pages stayed with the dumping host's page server.
    bool remote = (flags & kPeLazy) && !(flags & (kPePresent | kPeParent));
    Entry x{e.vaddr(), e.vaddr() + n * kPage, (flags & kPeParent) != 0, remote, offset};
    if (!out.empty() && x.start < out.back().end)
      return MakeError(EINVAL, "{}: pagemap entries out of order at {:#x}", what, x.start);
    if (!x.parent && !x.remote) offset += n * kPage;
    out.push_back(x);
  }
  return out;
}

Result<const std::vector<PageChain::Entry>*> PageChain::PagemapAt(size_t level, uint32_t pid) {
  if (level >= kMaxLevels) return MakeError(ELOOP, "more than {} parent images", kMaxLevels);
  while (levels_.size() <= level) {
    const std::string& child = levels_.back().dir;
    char real[PATH_MAX];
    std::string link = child + "/parent";
    if (::realpath(link.c_str(), real) == nullptr)
      return ErrnoError("pages are in the parent images of {}, but there are none", child);
    levels_.emplace_back(real);
  }
  Level& l = levels_[level];
  if (auto it = l.pagemaps.find(pid); it != l.pagemaps.end()) return &it->second;
  UniqueFd dir = CRYO_TRY(OpenImageDir(l.dir));
  ImageReader pm = CRYO_TRY_CTX(ImageReader::Open(dir.get(), ImageKind::kPagemap, pid), "parent images {}", l.dir);
  img::pagemap_head head;
  std::vector<img::pagemap_entry> raw;
  if (CRYO_TRY(pm.Next(head))) {
    img::pagemap_entry e;
    while (CRYO_TRY(pm.Next(e))) raw.push_back(e);
  }
  l.pages_ids[pid] = head.pages_id();
  auto [it, _] = l.pagemaps.emplace(pid, CRYO_TRY(Entries(raw, l.dir + "/" + pm.name())));
  return &it->second;
}

// Sources for [start, end) of the task as level `level` has them.
Result<> PageChain::Add(size_t level, uint32_t pid, uint64_t start, uint64_t end, TaskPages& out,
                        std::map<std::string, int>& file_index, bool partial) {
  if (partial) {
    // No parent (or none for this task): nothing to find.
    auto es = PagemapAt(level, pid);
    if (!es) return {};
  }
  const std::vector<Entry>& es = *CRYO_TRY(PagemapAt(level, pid));
  auto it = std::upper_bound(es.begin(), es.end(), start, [](uint64_t a, const Entry& e) { return a < e.end; });
  uint64_t at = start;
  for (; at < end && it != es.end() && it->start < end; ++it) {
    if (it->start > at) {
      if (!partial) break;  // a hole: these pages are in no image
      at = it->start;
    }
    uint64_t e = std::min(end, it->end);
    if (it->remote) {
      if (partial) {
        at = e;
        continue;
      }
      return MakeError(EINVAL,
                       "pages {:#x}-{:#x} of task {} stayed on the dumping host (a lazy dump): restore with "
                       "--lazy-pages and a lazy-pages daemon connected to its page server",
                       at, e, pid);
    }
    if (it->parent) {
      CRYO_TRY(Add(level + 1, pid, at, e, out, file_index, partial));
    } else {
      std::string file = levels_[level].dir + "/" + ImageFileName(ImageKind::kPages, levels_[level].pages_ids[pid]);
      auto [fi, fresh] = file_index.emplace(file, static_cast<int>(out.files.size()));
      if (fresh) out.files.push_back(file);
      uint64_t off = it->offset + (at - it->start);
      PageSource* last = out.sources.empty() ? nullptr : &out.sources.back();
      if (last && last->file == fi->second && last->vaddr + last->len == at && last->offset + last->len == off)
        last->len += e - at;
      else
        out.sources.push_back({at, e - at, fi->second, off});
      out.pages += (e - at) / kPage;
    }
    at = e;
  }
  if (at < end && !partial)
    return MakeError(EINVAL, "pages {:#x}-{:#x} of task {} are marked as in the parent images, but {} lacks them", at,
                     end, pid, levels_[level].dir);
  return {};
}

Result<TaskPages> PageChain::Resolve(uint32_t pid, uint32_t pages_id, const std::vector<img::pagemap_entry>& pagemap,
                                     const std::vector<PageRun>* want) {
  if (levels_.empty()) levels_.emplace_back(dir_);
  Level& self = levels_[0];
  self.pages_ids[pid] = pages_id;
  auto [it, _] = self.pagemaps.insert_or_assign(pid, CRYO_TRY(Entries(pagemap, fmt::format("pagemap-{}.img", pid))));
  TaskPages out;
  std::map<std::string, int> file_index;
  if (want) {
    for (const PageRun& r : *want) CRYO_TRY(Add(0, pid, r.start, r.end, out, file_index));
    return out;
  }
  for (const Entry& e : it->second) CRYO_TRY(Add(0, pid, e.start, e.end, out, file_index));
  return out;
}

Result<uint64_t> PageChain::Dedup(uint32_t pid, const std::vector<img::pagemap_entry>& pagemap) {
  if (levels_.empty()) levels_.emplace_back(dir_);
  std::vector<Entry> own = CRYO_TRY(Entries(pagemap, fmt::format("pagemap-{}.img", pid)));
  TaskPages old;
  std::map<std::string, int> file_index;
  for (const Entry& e : own)
    if (!e.parent && !e.remote) CRYO_TRY(Add(1, pid, e.start, e.end, old, file_index, true));  // held here
  std::vector<UniqueFd> fds;
  for (const std::string& f : old.files) fds.push_back(CRYO_TRY(Open(f, O_RDWR)));
  for (const PageSource& s : old.sources)
    if (::fallocate(fds[static_cast<size_t>(s.file)].get(), FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
                    static_cast<off_t>(s.offset), static_cast<off_t>(s.len)) != 0)
      return ErrnoError("punch {} bytes at {} out of {}", s.len, s.offset, old.files[static_cast<size_t>(s.file)]);
  return old.pages;
}

Result<uint64_t> DedupImages(const std::string& dir) {
  char real[PATH_MAX];
  if (::realpath(dir.c_str(), real) == nullptr) return ErrnoError("images directory {}", dir);
  UniqueFd d = CRYO_TRY(OpenImageDir(real));
  std::vector<uint32_t> pids;
  DIR* ds = ::fdopendir(::dup(d.get()));
  if (!ds) return ErrnoError("read {}", dir);
  while (dirent* e = ::readdir(ds)) {
    unsigned pid = 0;
    char tail[8] = {};
    // pagemap-PID.img; pagemap-shmem-ID.img does not match.
    if (std::sscanf(e->d_name, "pagemap-%u%7s", &pid, tail) == 2 && std::string_view(tail) == ".img") pids.push_back(pid);
  }
  ::closedir(ds);
  PageChain chain(real);
  uint64_t freed = 0;
  for (uint32_t pid : pids) {
    ImageReader pm = CRYO_TRY(ImageReader::Open(d.get(), ImageKind::kPagemap, pid));
    img::pagemap_head head;
    std::vector<img::pagemap_entry> entries;
    if (CRYO_TRY(pm.Next(head))) {
      img::pagemap_entry e;
      while (CRYO_TRY(pm.Next(e))) entries.push_back(e);
    }
    freed += CRYO_TRY(chain.Dedup(pid, entries));
  }
  return freed;
}

}  // namespace cryo
