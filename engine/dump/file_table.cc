#include "engine/dump/file_table.h"

#include <linux/kcmp.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "engine/dump/file_owner.h"
#include "engine/image/image_writer.h"

namespace cryo {

void NoOwner(img::fown_entry* f) {
  f->set_uid(0);
  f->set_euid(0);
  f->set_signum(0);
  f->set_pid_type(0);
  f->set_pid(0);
}

uint32_t FileTable::AddReg(const std::string& path, uint32_t flags, uint64_t pos, const struct stat& st, int mnt_id) {
  uint32_t id = NextId();
  AddRegWithId(id, path, flags, pos, st, mnt_id);
  return id;
}

void FileTable::AddRegWithId(uint32_t id, const std::string& path, uint32_t flags, uint64_t pos, const struct stat& st,
                             int mnt_id) {
  img::file_entry fe;
  fe.set_type(img::REG);
  fe.set_id(id);
  auto* r = fe.mutable_reg();
  r->set_id(id);
  r->set_flags(flags);
  r->set_pos(pos);
  NoOwner(r->mutable_fown());
  r->set_name(path);
  if (S_ISREG(st.st_mode)) r->set_size(static_cast<uint64_t>(st.st_size));
  r->set_mode(st.st_mode);
  if (mnt_id >= 0) r->set_mnt_id(mnt_id);
  Add(std::move(fe));
}

uint32_t FileTable::AddMemfd(uint32_t inode_id, uint32_t flags, uint64_t pos) {
  uint32_t id = NextId();
  img::file_entry fe;
  fe.set_type(img::MEMFD);
  fe.set_id(id);
  auto* m = fe.mutable_memfd();
  m->set_id(id);
  m->set_flags(flags);
  m->set_pos(pos);
  NoOwner(m->mutable_fown());
  m->set_inode_id(inode_id);
  Add(std::move(fe));
  return id;
}

Result<uint32_t> FileTable::ByPath(const std::string& path, uint32_t flags) {
  auto key = std::make_pair(path, flags);
  if (auto it = by_path_.find(key); it != by_path_.end()) return it->second;
  struct stat st;
  if (::stat((view_ + path).c_str(), &st) != 0) return ErrnoError("stat {}", path);
  uint32_t id = AddReg(path, flags, 0, st);
  by_path_[key] = id;
  return id;
}

std::optional<uint32_t> FileTable::Known(pid_t pid, int fd, const struct stat& st) const {
  auto it = by_inode_.find({st.st_dev, st.st_ino});
  if (it == by_inode_.end()) return std::nullopt;
  for (const Holder& h : it->second)
    if (::syscall(SYS_kcmp, pid, h.pid, KCMP_FILE, fd, h.fd) == 0) return h.id;
  return std::nullopt;
}

void FileTable::Remember(pid_t pid, int fd, const struct stat& st, uint32_t id, img::fd_types type) {
  by_inode_[{st.st_dev, st.st_ino}].push_back({pid, fd, id});
  types_[id] = type;
}

Result<> FileTable::Write(int dir) const {
  std::map<uint32_t, img::fown_entry> owners = owners_;
  for (const auto& e : entries_) {
    auto it = owners.find(e.id());
    if (e.type() != img::FIFO || !e.has_fifo() || it == owners.end()) continue;
    owners[e.fifo().regf_id()] = it->second;
    owners.erase(e.id());
  }
  ImageWriter w(dir, ImageKind::kFiles);
  for (const auto& e : entries_) {
    auto it = owners.find(e.id());
    if (it == owners.end()) {
      CRYO_TRY(w.Write(e));
      continue;
    }
    img::file_entry owned = e;
    if (!SetEntryOwner(owned, it->second))
      return MakeError(ENOTSUP, "file {} ({}) has an owner for SIGIO ({}), which its kind cannot record", e.id(),
                       img::fd_types_Name(e.type()), it->second.pid());
    CRYO_TRY(w.Write(owned));
  }
  return w.Close();
}

}  // namespace cryo
