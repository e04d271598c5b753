#include "engine/ns/sysv.h"

#include <fcntl.h>
#include <sched.h>
#include <sys/msg.h>
#include <sys/sem.h>
#include <sys/shm.h>
#include <unistd.h>

#include <cstring>
#include <sstream>
#include <vector>

#include "engine/base/files.h"
#include "engine/base/unique_fd.h"
#include "engine/image/image_reader.h"
#include "engine/image/image_writer.h"
#include "engine/image/proto/namespaces.pb.h"
#include "engine/ns/ipc.h"
#include "engine/base/linux_compat.h"

namespace cryo::ns {
namespace {


constexpr uint64_t kMaxShm = 1ULL << 32;    // bytes of one segment read back
constexpr uint32_t kMaxSems = 32000;        // SEMMSL's ceiling
constexpr uint32_t kMaxMsgBytes = 1u << 24;  // a queue's bytes

uint64_t RoundUp(uint64_t n, uint64_t to) { return (n + to - 1) / to * to; }

// The ids listed in /proc/sysvipc/FILE (second column) of the IPC
// namespace cryo is in.
Result<std::vector<int>> Ids(const char* file) {
  std::string text = CRYO_TRY(ReadFile(fmt::format("/proc/sysvipc/{}", file)));
  std::vector<int> ids;
  std::istringstream lines(text);
  std::string line;
  std::getline(lines, line);  // the header
  while (std::getline(lines, line)) {
    std::istringstream f(line);
    long key;
    int id;
    if (f >> key >> id) ids.push_back(id);
  }
  return ids;
}

img::ipc_desc_entry Desc(int id, const ipc_perm& p) {
  img::ipc_desc_entry d;
  d.set_key(static_cast<uint32_t>(p.__key));
  d.set_uid(p.uid);
  d.set_gid(p.gid);
  d.set_cuid(p.cuid);
  d.set_cgid(p.cgid);
  d.set_mode(p.mode & 0777);
  d.set_id(static_cast<uint32_t>(id));
  return d;
}

// The owner and mode IPC_SET gives back (the creator's ids cannot be set).
void SetOwner(ipc_perm& p, const img::ipc_desc_entry& d) {
  p.uid = d.uid();
  p.gid = d.gid();
  p.mode = static_cast<unsigned short>(d.mode());
}

Result<> SetNextId(const char* kind, uint32_t id) {
  std::string path = fmt::format("/proc/sys/kernel/{}_next_id", kind);
  UniqueFd fd = CRYO_TRY(Open(path, O_WRONLY));
  std::string v = std::to_string(id);
  if (::write(fd.get(), v.data(), v.size()) < 0) return ErrnoError("write {} to {}", v, path);
  return {};
}

Result<> DumpShm(int dir, uint32_t ns_id, Log& log) {
  ImageWriter w(dir, ImageKind::kIpcShm, ns_id);
  for (int id : CRYO_TRY(Ids("shm"))) {
    shmid_ds ds{};
    if (::shmctl(id, IPC_STAT, &ds) != 0) return ErrnoError("SysV shared memory {}", id);
    // Attached or not: the tasks that had it attached attach it again
    // (their vma_entry is SYSVIPC), only the contents are here.
    if (ds.shm_segsz > kMaxShm) return MakeError(E2BIG, "SysV shared memory {}: {} bytes", id, ds.shm_segsz);
    img::ipc_shm_entry e;
    *e.mutable_desc() = Desc(id, ds.shm_perm);
    // Removed while attached: made again, and removed once reattached.
    if (ds.shm_perm.mode & SHM_DEST) e.mutable_desc()->set_mode(e.desc().mode() | SHM_DEST);
    e.set_size(ds.shm_segsz);
    void* at = ::shmat(id, nullptr, SHM_RDONLY);
    if (at == reinterpret_cast<void*>(-1)) return ErrnoError("attach SysV shared memory {}", id);
    std::string data(RoundUp(ds.shm_segsz, 4), '\0');
    std::memcpy(data.data(), at, ds.shm_segsz);
    ::shmdt(at);
    CRYO_TRY(w.Write(e));
    CRYO_TRY(w.WriteRaw(data));
    log.Info("SysV shared memory {} (key {:#x}): {} bytes", id, e.desc().key(), ds.shm_segsz);
  }
  return w.Close();
}

Result<> DumpSem(int dir, uint32_t ns_id, Log& log) {
  ImageWriter w(dir, ImageKind::kIpcSem, ns_id);
  for (int id : CRYO_TRY(Ids("sem"))) {
    semid_ds ds{};
    if (::semctl(id, 0, IPC_STAT, &ds) != 0) return ErrnoError("SysV semaphores {}", id);
    if (ds.sem_nsems > kMaxSems) return MakeError(E2BIG, "SysV semaphores {}: {} of them", id, ds.sem_nsems);
    std::vector<unsigned short> v(ds.sem_nsems);
    if (::semctl(id, 0, GETALL, v.data()) != 0) return ErrnoError("values of SysV semaphores {}", id);
    img::ipc_sem_entry e;
    *e.mutable_desc() = Desc(id, ds.sem_perm);
    e.set_nsems(static_cast<uint32_t>(ds.sem_nsems));
    std::string data(RoundUp(v.size() * sizeof(uint16_t), 8), '\0');
    std::memcpy(data.data(), v.data(), v.size() * sizeof(uint16_t));
    CRYO_TRY(w.Write(e));
    CRYO_TRY(w.WriteRaw(data));
    log.Info("SysV semaphores {} (key {:#x}): {}", id, e.desc().key(), ds.sem_nsems);
  }
  return w.Close();
}

Result<> DumpMsg(int dir, uint32_t ns_id, Log& log) {
  ImageWriter w(dir, ImageKind::kIpcMsg, ns_id);
  for (int id : CRYO_TRY(Ids("msg"))) {
    msqid_ds ds{};
    if (::msgctl(id, IPC_STAT, &ds) != 0) return ErrnoError("SysV message queue {}", id);
    if (ds.msg_qbytes > kMaxMsgBytes) return MakeError(E2BIG, "SysV message queue {}: {} bytes", id, ds.msg_qbytes);
    img::ipc_msg_entry e;
    *e.mutable_desc() = Desc(id, ds.msg_perm);
    e.set_qbytes(static_cast<uint32_t>(ds.msg_qbytes));
    e.set_qnum(static_cast<uint32_t>(ds.msg_qnum));
    CRYO_TRY(w.Write(e));
    // Each message copied, not taken (MSG_COPY: by its place in the queue).
    std::vector<char> buf(sizeof(long) + ds.msg_qbytes + 1);
    for (msgqnum_t i = 0; i < ds.msg_qnum; i++) {
      ssize_t n = ::msgrcv(id, buf.data(), buf.size() - sizeof(long), static_cast<long>(i), IPC_NOWAIT | MSG_COPY);
      if (n < 0) return ErrnoError("copy message {} of SysV queue {}", i, id);
      long type;
      std::memcpy(&type, buf.data(), sizeof type);
      img::ipc_msg m;
      m.set_mtype(static_cast<uint64_t>(type));
      m.set_msize(static_cast<uint32_t>(n));
      CRYO_TRY(w.Write(m));
      std::string body(RoundUp(static_cast<uint64_t>(n), 8), '\0');
      std::memcpy(body.data(), buf.data() + sizeof(long), static_cast<size_t>(n));
      CRYO_TRY(w.WriteRaw(body));
    }
    log.Info("SysV message queue {} (key {:#x}): {} message(s)", id, e.desc().key(), ds.msg_qnum);
  }
  return w.Close();
}


}  // namespace

Result<> DumpSysvObjects(pid_t pid, int dir, uint32_t ns_id, Log& log) {
  auto in = CRYO_TRY(InIpcNamespace::Join(pid));
  CRYO_TRY(DumpShm(dir, ns_id, log));
  CRYO_TRY(DumpSem(dir, ns_id, log));
  CRYO_TRY(DumpMsg(dir, ns_id, log));
  return {};
}

Result<> RemoveSegments(const std::vector<int>& ids) {
  for (int id : ids)
    if (::shmctl(id, IPC_RMID, nullptr) != 0) return ErrnoError("remove SysV shared memory {}", id);
  return {};
}

Result<std::vector<int>> RestoreSysvObjects(int dir, uint32_t ns_id, Log& log) {
  std::vector<int> removed;
  {
    ImageReader r = CRYO_TRY(ImageReader::Open(dir, ImageKind::kIpcShm, ns_id));
    img::ipc_shm_entry e;
    while (r.present() && CRYO_TRY(r.Next(e))) {
      const auto& d = e.desc();
      if (e.size() > kMaxShm || e.in_pagemaps())
        return MakeError(ENOTSUP, "{}: segment {} of {} bytes{}", r.name(), d.id(), e.size(),
                         e.in_pagemaps() ? " kept in pagemaps" : "");
      std::string data = CRYO_TRY(r.ReadPayload(RoundUp(e.size(), 4)));
      CRYO_TRY(SetNextId("shm", d.id()));
      int id = ::shmget(static_cast<key_t>(d.key()), e.size(), static_cast<int>(d.mode() & 0777) | IPC_CREAT | IPC_EXCL);
      if (id < 0) return ErrnoError("make SysV shared memory {} (key {:#x})", d.id(), d.key());
      if (static_cast<uint32_t>(id) != d.id()) return MakeError(EEXIST, "SysV shared memory {} came back as {}", d.id(), id);
      void* at = ::shmat(id, nullptr, 0);
      if (at == reinterpret_cast<void*>(-1)) return ErrnoError("attach SysV shared memory {}", id);
      std::memcpy(at, data.data(), e.size());
      ::shmdt(at);
      shmid_ds ds{};
      SetOwner(ds.shm_perm, d);
      if (::shmctl(id, IPC_SET, &ds) != 0) return ErrnoError("owner of SysV shared memory {}", id);
      if (d.mode() & SHM_DEST) removed.push_back(id);
    }
  }
  {
    ImageReader r = CRYO_TRY(ImageReader::Open(dir, ImageKind::kIpcSem, ns_id));
    img::ipc_sem_entry e;
    while (r.present() && CRYO_TRY(r.Next(e))) {
      const auto& d = e.desc();
      if (e.nsems() == 0 || e.nsems() > kMaxSems) return MakeError(EINVAL, "{}: set {} of {} semaphores", r.name(), d.id(), e.nsems());
      std::string data = CRYO_TRY(r.ReadPayload(RoundUp(e.nsems() * sizeof(uint16_t), 8)));
      CRYO_TRY(SetNextId("sem", d.id()));
      int id = ::semget(static_cast<key_t>(d.key()), static_cast<int>(e.nsems()),
                        static_cast<int>(d.mode() & 0777) | IPC_CREAT | IPC_EXCL);
      if (id < 0) return ErrnoError("make SysV semaphores {} (key {:#x})", d.id(), d.key());
      if (static_cast<uint32_t>(id) != d.id()) return MakeError(EEXIST, "SysV semaphores {} came back as {}", d.id(), id);
      std::vector<unsigned short> v(e.nsems());
      std::memcpy(v.data(), data.data(), v.size() * sizeof(uint16_t));
      if (::semctl(id, 0, SETALL, v.data()) != 0) return ErrnoError("values of SysV semaphores {}", id);
      semid_ds ds{};
      SetOwner(ds.sem_perm, d);
      if (::semctl(id, 0, IPC_SET, &ds) != 0) return ErrnoError("owner of SysV semaphores {}", id);
    }
  }
  {
    ImageReader r = CRYO_TRY(ImageReader::Open(dir, ImageKind::kIpcMsg, ns_id));
    img::ipc_msg_entry e;
    while (r.present() && CRYO_TRY(r.Next(e))) {
      const auto& d = e.desc();
      if (e.qbytes() > kMaxMsgBytes) return MakeError(EINVAL, "{}: queue {} of {} bytes", r.name(), d.id(), e.qbytes());
      CRYO_TRY(SetNextId("msg", d.id()));
      int id = ::msgget(static_cast<key_t>(d.key()), static_cast<int>(d.mode() & 0777) | IPC_CREAT | IPC_EXCL);
      if (id < 0) return ErrnoError("make SysV message queue {} (key {:#x})", d.id(), d.key());
      if (static_cast<uint32_t>(id) != d.id()) return MakeError(EEXIST, "SysV message queue {} came back as {}", d.id(), id);
      msqid_ds ds{};
      if (::msgctl(id, IPC_STAT, &ds) != 0) return ErrnoError("SysV message queue {}", id);
      // Its size first (raising it past msgmnb would need CAP_SYS_RESOURCE).
      if (ds.msg_qbytes != e.qbytes()) {
        ds.msg_qbytes = e.qbytes();
        if (::msgctl(id, IPC_SET, &ds) != 0) return ErrnoError("size SysV message queue {} to {} bytes", id, e.qbytes());
      }
      std::vector<char> buf(sizeof(long) + e.qbytes() + 8);
      for (uint32_t i = 0; i < e.qnum(); i++) {
        img::ipc_msg m;
        if (!CRYO_TRY(r.Next(m))) return MakeError(EIO, "{}: queue {} ends after {} messages", r.name(), d.id(), i);
        if (m.msize() > e.qbytes()) return MakeError(EINVAL, "{}: a message of {} bytes", r.name(), m.msize());
        std::string body = CRYO_TRY(r.ReadPayload(RoundUp(m.msize(), 8)));
        long type = static_cast<long>(m.mtype());
        std::memcpy(buf.data(), &type, sizeof type);
        std::memcpy(buf.data() + sizeof(long), body.data(), m.msize());
        if (::msgsnd(id, buf.data(), m.msize(), IPC_NOWAIT) != 0) return ErrnoError("message {} of SysV queue {}", i, id);
      }
      SetOwner(ds.msg_perm, d);
      if (::msgctl(id, IPC_SET, &ds) != 0) return ErrnoError("owner of SysV message queue {}", id);
    }
  }
  log.Info("SysV objects made");
  return removed;
}

}  // namespace cryo::ns
