#include "engine/restore/image_set.h"

#include <limits.h>
#include <stdlib.h>

#include "engine/image/image_dir.h"
#include "engine/image/image_reader.h"

namespace cryo {

Result<const img::reg_file_entry*> ImageSet::File(uint32_t id) const {
  auto it = files.find(id);
  if (it == files.end()) return MakeError(0, "files.img has no file {}", id);
  return &it->second;
}

Result<ImageSet> ReadImageSet(const std::string& path) {
  ImageSet s;
  char real[PATH_MAX];
  if (::realpath(path.c_str(), real) == nullptr) return ErrnoError("images directory {}", path);
  s.dir_path = real;
  s.dir = CRYO_TRY(OpenImageDir(s.dir_path));
  int d = s.dir.get();
  auto inv = ReadSingleEntryImage(d, ImageKind::kInventory, 0, s.inventory);
  if (!inv) return MakeError(0, "{} holds no complete dump: {}", path, inv.error().message());
  if (s.inventory.img_version() != 2)
    return MakeError(0, "inventory.img: image version {} (want 2)", s.inventory.img_version());

  ImageReader ps = CRYO_TRY(ImageReader::Open(d, ImageKind::kPstree));
  std::vector<img::pstree_entry> tree;
  img::pstree_entry pe;
  while (CRYO_TRY(ps.Next(pe))) tree.push_back(pe);
  if (tree.empty()) return MakeError(0, "pstree.img is missing or empty");
  if (tree.size() > 1)
    return MakeError(ENOTSUP, "the dump holds {} processes; this build restores one", tree.size());
  s.task = tree[0];
  if (s.task.threads_size() == 0) return MakeError(0, "pstree.img: process {} has no threads", s.task.pid());
  for (uint32_t tid : s.task.threads()) {
    img::core_entry c;
    CRYO_TRY(ReadSingleEntryImage(d, ImageKind::kCore, tid, c));
    if (c.mtype() != img::core_entry::X86_64 || !c.has_thread_info())
      return MakeError(0, "core-{}.img: not an x86-64 thread", tid);
    s.cores.push_back(std::move(c));
  }
  if (!s.cores[0].has_tc()) return MakeError(0, "core-{}.img: no task state", s.task.pid());
  uint32_t pid = s.task.pid();
  CRYO_TRY(ReadSingleEntryImage(d, ImageKind::kIds, pid, s.ids));
  CRYO_TRY(ReadSingleEntryImage(d, ImageKind::kMm, pid, s.mm));
  CRYO_TRY(ReadSingleEntryImage(d, ImageKind::kFs, pid, s.fs));

  ImageReader pm = CRYO_TRY(ImageReader::Open(d, ImageKind::kPagemap, pid));
  img::pagemap_head head;
  if (CRYO_TRY(pm.Next(head))) {
    s.pages_id = head.pages_id();
    img::pagemap_entry e;
    while (CRYO_TRY(pm.Next(e))) s.pagemap.push_back(e);
  }

  ImageReader files = CRYO_TRY(ImageReader::Open(d, ImageKind::kFiles));
  img::file_entry fe;
  while (CRYO_TRY(files.Next(fe))) {
    if (fe.type() == img::MEMFD && fe.has_memfd()) {
      s.memfd_files[fe.id()] = fe.memfd();
      continue;
    }
    if (fe.type() != img::REG || !fe.has_reg())
      return MakeError(ENOTSUP, "files.img: file {} of kind {} is not supported by this build yet",
                       fe.id(), img::fd_types_Name(fe.type()));
    s.files[fe.id()] = fe.reg();
  }
  ImageReader fdinfo = CRYO_TRY(ImageReader::Open(d, ImageKind::kFdinfo, s.ids.files_id()));
  img::fdinfo_entry fi;
  {
    ImageReader mi = CRYO_TRY(ImageReader::Open(d, ImageKind::kMemfdInode));
    img::memfd_inode_entry e;
    while (CRYO_TRY(mi.Next(e))) s.memfd_inodes[e.inode_id()] = e;
  }
  for (const auto& [id, f] : s.memfd_files)
    if (!s.memfd_inodes.count(f.inode_id())) return MakeError(0, "memfd.img has no inode {}", f.inode_id());
  while (CRYO_TRY(fdinfo.Next(fi))) {
    if (fi.type() == img::MEMFD) {
      if (!s.memfd_files.count(fi.id())) return MakeError(0, "files.img has no memfd {}", fi.id());
      s.fds.push_back(fi);
      continue;
    }
    CRYO_TRY(s.File(fi.id()));
    s.fds.push_back(fi);
  }
  {
    ImageReader rm = CRYO_TRY(ImageReader::Open(d, ImageKind::kRemapFpath));
    img::remap_file_path_entry e;
    while (CRYO_TRY(rm.Next(e))) {
      if (e.remap_type() != img::GHOST)
        return MakeError(ENOTSUP, "remap-fpath.img: remap type {} is not supported by this build yet",
                         img::remap_type_Name(e.remap_type()));
      CRYO_TRY(s.File(e.orig_id()));
      s.ghosts[e.orig_id()] = e.remap_id();
    }
  }
  {
    ImageReader sc = CRYO_TRY(ImageReader::Open(d, ImageKind::kSeccomp));
    if (sc.present() && !CRYO_TRY(sc.Next(s.seccomp))) return MakeError(0, "seccomp.img holds no entry");
  }
  for (const auto& c : s.cores) {
    const auto& th = c.thread_core();
    if (th.seccomp_mode() == img::filter && th.seccomp_filter() >= static_cast<uint32_t>(s.seccomp.seccomp_filters_size()))
      return MakeError(0, "a thread's seccomp filter {} is not in seccomp.img", th.seccomp_filter());
  }
  return s;
}

}  // namespace cryo
