#include "engine/ns/mqueue.h"

#include <dirent.h>
#include <fcntl.h>
#include <mqueue.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <climits>
#include <ctime>
#include <cstring>
#include <string_view>

#include "engine/base/files.h"
#include "engine/base/unique_fd.h"
#include "engine/image/image_reader.h"
#include "engine/image/image_writer.h"
#include "engine/ns/ipc.h"
#include "engine/ns/user.h"

namespace cryo::ns {
namespace {

// A queue's name as mq_open takes it: one '/', then a file name.
bool ValidName(const std::string& name) {
  return name.size() >= 2 && name.size() <= NAME_MAX + 1 && name[0] == '/' &&
         name.find('/', 1) == std::string::npos && name != "/." && name != "/..";
}

// Opens queue `name` for cryo to look at, refused when a task of the
// tree waits for its notification (its file's status line: "QSIZE:..
// NOTIFY:.. SIGNO:.. NOTIFY_PID:..", 0 for none): that cannot be dumped.
Result<UniqueFd> OpenUnwatched(const std::string& name, int how, const InTree& in_tree) {
  UniqueFd q(::mq_open(name.c_str(), how | O_NONBLOCK | O_CLOEXEC));
  if (!q) return ErrnoError("open POSIX message queue {}", name);
  char buf[256];
  ssize_t n = ::pread(q.get(), buf, sizeof buf - 1, 0);
  if (n < 0) return ErrnoError("read the status of POSIX message queue {}", name);
  buf[n] = '\0';
  if (char* nl = std::strchr(buf, '\n')) *nl = '\0';
  const char* at = std::strstr(buf, "NOTIFY_PID:");
  if (!at) return MakeError(EIO, "POSIX message queue {}: no NOTIFY_PID in its status \"{}\"", name, buf);
  if (long waiter = std::strtol(at + 11, nullptr, 10); waiter != 0 && in_tree(static_cast<pid_t>(waiter)))
    return MakeError(ENOTSUP, "POSIX message queue {}: pid {} waits for its notification (mq_notify): not supported",
                     name, waiter);
  return q;
}

// A detached mount of the mqueue filesystem of the IPC namespace cryo is
// in: nothing is mounted anywhere.
Result<UniqueFd> MountMqueue() {
  UniqueFd fs(::fsopen("mqueue", FSOPEN_CLOEXEC));
  if (!fs) return ErrnoError("fsopen mqueue");
  if (::fsconfig(fs.get(), FSCONFIG_CMD_CREATE, nullptr, nullptr, 0) != 0) return ErrnoError("create an mqueue filesystem");
  UniqueFd mnt(::fsmount(fs.get(), FSMOUNT_CLOEXEC, MOUNT_ATTR_RDONLY));
  if (!mnt) return ErrnoError("fsmount mqueue");
  return mnt;
}

// The queues on `mnt`.
Result<std::vector<std::string>> ListQueues(int mnt) {
  int d = ::openat(mnt, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (d < 0) return ErrnoError("open the mqueue filesystem");
  DIR* dir = ::fdopendir(d);
  if (!dir) {
    ::close(d);
    return ErrnoError("list the mqueue filesystem");
  }
  std::vector<std::string> names;
  while (dirent* de = ::readdir(dir))
    if (std::strcmp(de->d_name, ".") != 0 && std::strcmp(de->d_name, "..") != 0) names.push_back(de->d_name);
  ::closedir(dir);
  return names;
}

Result<img::posix_mq_entry> DumpQueue(int mnt, const std::string& file, const InTree& in_tree) {
  std::string name = "/" + file;
  struct stat st;
  if (::fstatat(mnt, file.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) return ErrnoError("stat POSIX message queue {}", name);
  UniqueFd hold = CRYO_TRY(OpenUnwatched(name, O_RDWR, in_tree));
  int q = hold.get();
  mq_attr a{};
  if (::mq_getattr(q, &a) != 0) return ErrnoError("attributes of POSIX message queue {}", name);
  img::posix_mq_entry e;
  e.set_name(name);
  e.set_contents(true);
  e.set_mode(st.st_mode & 07777);
  e.set_uid(st.st_uid);
  e.set_gid(st.st_gid);
  e.set_maxmsg(static_cast<uint64_t>(a.mq_maxmsg));
  e.set_msgsize(static_cast<uint64_t>(a.mq_msgsize));
  // No way to look without taking: every message out, highest priority
  // and oldest first, then back in that order, which is the order they
  // were in. Whatever happens, what was taken goes back.
  std::string buf(static_cast<size_t>(a.mq_msgsize), '\0');
  Result<> taken;
  for (long i = 0; i < a.mq_curmsgs; i++) {
    unsigned prio = 0;
    ssize_t n = ::mq_receive(q, buf.data(), buf.size(), &prio);
    if (n < 0) {
      if (errno != EAGAIN) taken = ErrnoError("message {} of POSIX message queue {}", i, name);
      break;
    }
    auto* m = e.add_msgs();
    m->set_prio(prio);
    m->set_data(buf.data(), static_cast<size_t>(n));
  }
  // Blocking, for a moment each: a sender let in while the queue was
  // emptied may have taken a place.
  mq_attr blocking{};
  (void)::mq_setattr(q, &blocking, nullptr);
  int lost = 0;
  for (const auto& m : e.msgs()) {
    timespec until{};
    ::clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += 1;
    if (::mq_timedsend(q, m.data().data(), m.data().size(), m.prio(), &until) != 0) lost++;
  }
  if (lost > 0) return MakeError(EIO, "POSIX message queue {}: {} message(s) could not be put back", name, lost);
  CRYO_TRY(std::move(taken));
  return e;
}

}  // namespace

Result<std::set<dev_t>> MqueueDevs(pid_t pid) {
  std::set<dev_t> devs;
  struct stat st;
  UniqueFd ours = CRYO_TRY(MountMqueue());
  if (::fstat(ours.get(), &st) != 0) return ErrnoError("stat the mqueue filesystem");
  devs.insert(st.st_dev);
  struct stat mine, tree;
  if (::stat("/proc/self/ns/ipc", &mine) == 0 && ::stat(fmt::format("/proc/{}/ns/ipc", pid).c_str(), &tree) == 0 &&
      mine.st_ino == tree.st_ino)
    return devs;  // one namespace, one filesystem
  auto in = CRYO_TRY(InIpcNamespace::Join(pid));
  UniqueFd theirs = CRYO_TRY(MountMqueue());
  if (::fstat(theirs.get(), &st) != 0) return ErrnoError("stat the mqueue filesystem of {}", pid);
  devs.insert(st.st_dev);
  return devs;
}

std::string QueueName(const std::string& link) { return "/" + link.substr(link.rfind('/') + 1); }

Result<std::vector<img::posix_mq_entry>> DumpMqueues(pid_t pid, const InTree& in_tree, Log& log) {
  auto in = CRYO_TRY(InIpcNamespace::Join(pid));
  UniqueFd mnt = CRYO_TRY(MountMqueue());
  std::vector<img::posix_mq_entry> out;
  for (const auto& file : CRYO_TRY(ListQueues(mnt.get()))) {
    out.push_back(CRYO_TRY(DumpQueue(mnt.get(), file, in_tree)));
    log.Info("POSIX message queue {}: {} message(s)", out.back().name(), out.back().msgs_size());
  }
  return out;
}

Result<> AddMqueueFile(std::vector<img::posix_mq_entry>& queues, bool own_ipc, const std::string& name,
                       uint32_t file_id, const InTree& in_tree) {
  for (auto& q : queues)
    if (q.name() == name) {
      q.add_file_ids(file_id);
      return {};
    }
  if (own_ipc) return MakeError(ENOENT, "POSIX message queue {}: not in the tree's IPC namespace", name);
  // The host's queue stays as it is; only a notification the tree waits
  // for would be lost.
  CRYO_TRY(OpenUnwatched(name, O_RDONLY, in_tree));
  img::posix_mq_entry e;
  e.set_name(name);
  e.add_file_ids(file_id);
  queues.push_back(std::move(e));
  return {};
}

Result<> WriteMqueues(int dir, const std::vector<img::posix_mq_entry>& queues) {
  if (queues.empty()) return {};
  ImageWriter w(dir, ImageKind::kPosixMq);
  for (const auto& q : queues) {
    std::string bytes = q.SerializeAsString();
    if (bytes.size() > kMaxEntrySize) return MakeError(EFBIG, "POSIX message queue {}: {} bytes", q.name(), bytes.size());
    auto len = static_cast<uint32_t>(bytes.size());
    CRYO_TRY(w.WriteRaw(std::string_view(reinterpret_cast<const char*>(&len), sizeof len)));
    CRYO_TRY(w.WriteRaw(bytes));
  }
  return w.Close();
}

Result<std::vector<img::posix_mq_entry>> ReadMqueues(int dir) {
  ImageReader r = CRYO_TRY(ImageReader::Open(dir, ImageKind::kPosixMq));
  std::vector<img::posix_mq_entry> out;
  img::posix_mq_entry e;
  while (r.present() && CRYO_TRY(r.Next(e))) {
    if (!ValidName(e.name())) return MakeError(EINVAL, "{}: bad queue name \"{}\"", r.name(), e.name());
    if (e.contents()) {
      if (e.maxmsg() == 0 || e.msgsize() == 0 || static_cast<uint64_t>(e.msgs_size()) > e.maxmsg())
        return MakeError(EINVAL, "{}: queue {}: {} message(s), room for {} of {} bytes", r.name(), e.name(),
                         e.msgs_size(), e.maxmsg(), e.msgsize());
      for (const auto& m : e.msgs())
        if (m.data().size() > e.msgsize())
          return MakeError(EINVAL, "{}: queue {}: a message of {} bytes, more than {}", r.name(), e.name(),
                           m.data().size(), e.msgsize());
    }
    out.push_back(e);
  }
  return out;
}

// RLIMIT_MSGQUEUE raised to its hard limit for as long as it lives: the
// queues' bytes are charged to cryo's user, whose soft limit is small
// (raising the hard one would need CAP_SYS_RESOURCE).
class RoomForQueues {
 public:
  RoomForQueues() {
    if (::getrlimit(RLIMIT_MSGQUEUE, &old_) == 0 && old_.rlim_cur < old_.rlim_max) {
      rlimit more{old_.rlim_max, old_.rlim_max};
      raised_ = ::setrlimit(RLIMIT_MSGQUEUE, &more) == 0;
    }
  }
  ~RoomForQueues() {
    if (raised_) (void)::setrlimit(RLIMIT_MSGQUEUE, &old_);
  }
  RoomForQueues(const RoomForQueues&) = delete;
  RoomForQueues& operator=(const RoomForQueues&) = delete;

 private:
  rlimit old_{};
  bool raised_ = false;
};

Result<> RestoreMqueues(const std::vector<img::posix_mq_entry>& queues, uid_t as_uid, gid_t as_gid, Log& log) {
  RoomForQueues room;
  for (const auto& e : queues) {
    if (!e.contents()) continue;
    mq_attr a{};
    a.mq_maxmsg = static_cast<long>(e.maxmsg());
    a.mq_msgsize = static_cast<long>(e.msgsize());
    UniqueFd q;
    {
      // Made by an owner the namespace's filesystem can name.
      auto as = CRYO_TRY(ActAs::Begin(as_uid, as_gid));
      q = UniqueFd(::mq_open(e.name().c_str(), O_CREAT | O_EXCL | O_WRONLY | O_NONBLOCK | O_CLOEXEC, e.mode() & 0777, &a));
      if (!q && errno == EMFILE)
        return MakeError(EMFILE, "make POSIX message queue {} ({} messages of {} bytes): over RLIMIT_MSGQUEUE", e.name(),
                         e.maxmsg(), e.msgsize());
      if (!q)
        return ErrnoError("make POSIX message queue {} ({} messages of {} bytes)", e.name(), e.maxmsg(), e.msgsize());
    }
    for (const auto& m : e.msgs())
      if (::mq_send(q.get(), m.data().data(), m.data().size(), m.prio()) != 0)
        return ErrnoError("a message of POSIX message queue {}", e.name());
    // The mode without the umask, then the owner.
    if (::fchmod(q.get(), e.mode() & 07777) != 0) return ErrnoError("mode of POSIX message queue {}", e.name());
    if (::fchown(q.get(), e.uid(), e.gid()) != 0) return ErrnoError("owner of POSIX message queue {}", e.name());
    log.Info("POSIX message queue {}: {} message(s)", e.name(), e.msgs_size());
  }
  return {};
}

Result<UniqueFd> OpenMqueue(const std::string& name, uint32_t flags) {
  int how = static_cast<int>(flags & (O_ACCMODE | O_NONBLOCK));
  mqd_t q = ::mq_open(name.c_str(), how | O_CLOEXEC);
  if (q < 0) return ErrnoError("open POSIX message queue {}", name);
  return UniqueFd(q);
}

}  // namespace cryo::ns
