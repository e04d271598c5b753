#include "engine/ns/user.h"

#include <fcntl.h>
#include <linux/nsfs.h>
#include <sched.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>

#include "engine/base/files.h"
#include "engine/ns/probe.h"

namespace cryo::ns {

Result<std::vector<IdExtent>> ParseIdMap(std::string_view text) {
  std::vector<IdExtent> out;
  while (!text.empty()) {
    size_t nl = text.find('\n');
    std::string line(text.substr(0, nl));
    text = nl == std::string_view::npos ? std::string_view() : text.substr(nl + 1);
    if (line.find_first_not_of(" \t") == std::string::npos) continue;
    unsigned long long a = 0, b = 0, c = 0;
    if (std::sscanf(line.c_str(), "%llu %llu %llu", &a, &b, &c) != 3 || a > UINT32_MAX || b > UINT32_MAX ||
        c > UINT32_MAX)
      return MakeError(EINVAL, "bad id map line '{}'", line);
    out.push_back({static_cast<uint32_t>(a), static_cast<uint32_t>(b), static_cast<uint32_t>(c)});
  }
  return out;
}

uint32_t ToInside(const std::vector<IdExtent>& map, uint32_t outside) {
  for (const IdExtent& e : map)
    if (outside >= e.lower && outside - e.lower < e.count) return e.first + (outside - e.lower);
  return 65534;  // the kernel's overflow id
}

std::string FormatIdMap(const google::protobuf::RepeatedPtrField<img::uid_gid_extent>& map) {
  std::string s;
  for (const auto& e : map) s += fmt::format("{} {} {}\n", e.first(), e.lower_first(), e.count());
  return s;
}

uint32_t RootOutside(const google::protobuf::RepeatedPtrField<img::uid_gid_extent>& map, uint32_t fallback) {
  for (const auto& e : map)
    if (e.first() == 0 && e.count() > 0) return e.lower_first();
  return fallback;
}

// The raw syscalls: this thread only (glibc's wrappers change every
// thread's ids).
Result<ActAs> ActAs::Begin(uid_t uid, gid_t gid) {
  ActAs a;
  if (uid == 0 && gid == 0) return a;
  if (::syscall(SYS_setresgid, -1, gid, -1) != 0) return ErrnoError("act as gid {}", gid);
  a.active_ = true;
  if (::syscall(SYS_setresuid, -1, uid, -1) != 0) return ErrnoError("act as uid {}", uid);
  return a;
}

ActAs::~ActAs() {
  if (!active_) return;
  // Back to euid 0: the effective capabilities come back with it.
  (void)::syscall(SYS_setresuid, -1, 0, -1);
  (void)::syscall(SYS_setresgid, -1, 0, -1);
}

Result<IdMaps> TaskIdMaps(pid_t pid) {
  IdMaps m;
  uint64_t user = NsInode(pid, "user");
  if (user == 0 || user == NsInode(0, "user")) return m;
  m.uid = CRYO_TRY(ParseIdMap(CRYO_TRY(ReadFile(fmt::format("/proc/{}/uid_map", pid)))));
  m.gid = CRYO_TRY(ParseIdMap(CRYO_TRY(ReadFile(fmt::format("/proc/{}/gid_map", pid)))));
  return m;
}

Result<img::userns_entry> DumpUser(pid_t root) {
  UniqueFd ns = CRYO_TRY(Open(fmt::format("/proc/{}/ns/user", root), O_RDONLY | O_CLOEXEC));
  UniqueFd parent(::ioctl(ns.get(), NS_GET_PARENT));
  struct stat st{};
  if (!parent || ::fstat(parent.get(), &st) != 0 || st.st_ino != NsInode(0, "user"))
    return MakeError(ENOTSUP,
                     "pid {} lives in a user namespace nested more than one level below cryo's: not supported", root);
  img::userns_entry e;
  for (const char* kind : {"uid", "gid"}) {
    std::string text = CRYO_TRY(ReadFile(fmt::format("/proc/{}/{}_map", root, kind)));
    std::vector<IdExtent> map = CRYO_TRY_CTX(ParseIdMap(text), "{}_map of {}", kind, root);
    if (map.empty()) return MakeError(ENOTSUP, "pid {} lives in a user namespace with no {} map", root, kind);
    for (const IdExtent& x : map) {
      img::uid_gid_extent* out = kind[0] == 'u' ? e.add_uid_map() : e.add_gid_map();
      out->set_first(x.first);
      out->set_lower_first(x.lower);
      out->set_count(x.count);
    }
  }
  return e;
}

namespace {

// The helper's steps, reported as one byte each: 0, or the errno.
enum Step : int { kUser = 0, kOthers = 1 };

struct NsKind {
  int flag;
  const char* file;  // in /proc/PID/ns
};
constexpr NsKind kOwned[] = {{CLONE_NEWUTS, "uts"},         {CLONE_NEWIPC, "ipc"},
                             {CLONE_NEWNET, "net"},         {CLONE_NEWNS, "mnt"},
                             {CLONE_NEWPID, "pid_for_children"}, {CLONE_NEWCGROUP, "cgroup"},
                             {CLONE_NEWTIME, "time_for_children"}};

// The helper (a fresh fork: system calls only): into the user namespace,
// wait for its maps, make the namespaces it owns, then wait for the end.
[[noreturn]] void Helper(int join, int flags, int in, int out) {
  ::prctl(PR_SET_PDEATHSIG, SIGKILL);
  unsigned char r = 0;
  if ((join >= 0 ? ::setns(join, CLONE_NEWUSER) : ::unshare(CLONE_NEWUSER)) != 0) r = static_cast<unsigned char>(errno);
  if (::write(out, &r, 1) != 1 || r != 0) ::_exit(1);
  if (::read(in, &r, 1) != 1) ::_exit(1);  // the maps are written
  r = 0;
  if (flags != 0 && ::unshare(flags) != 0) r = static_cast<unsigned char>(errno);
  if (::write(out, &r, 1) != 1 || r != 0) ::_exit(1);
  while (::read(in, &r, 1) > 0) {
  }
  ::_exit(0);
}

Result<> WaitStep(int fd, pid_t helper, Step step) {
  unsigned char r = 0;
  ssize_t n;
  do n = ::read(fd, &r, 1);
  while (n < 0 && errno == EINTR);
  const char* what = step == kUser ? "make the user namespace" : "make the namespaces the user namespace owns";
  if (n != 1) return MakeError(EIO, "{}: helper {} died", what, helper);
  if (r != 0) return MakeError(r, "{} (helper {})", what, helper);
  return {};
}

}  // namespace

Result<UserNamespace> UserNamespace::Make(const img::userns_entry& maps, int join, int flags) {
  int to[2], from[2];
  if (::pipe2(to, O_CLOEXEC) != 0) return ErrnoError("pipe");
  UniqueFd to_rd(to[0]), to_wr(to[1]);
  if (::pipe2(from, O_CLOEXEC) != 0) return ErrnoError("pipe");
  UniqueFd from_rd(from[0]), from_wr(from[1]);
  UserNamespace u;
  pid_t pid = ::fork();
  if (pid < 0) return ErrnoError("fork the user namespace helper");
  if (pid == 0) Helper(join, flags, to_rd.get(), from_wr.get());
  u.helper_ = pid;
  u.go_ = std::move(to_wr);
  to_rd.reset();
  from_wr.reset();
  CRYO_TRY(WaitStep(from_rd.get(), pid, kUser));
  if (join < 0) {
    u.root_uid_ = RootOutside(maps.uid_map(), 0);
    u.root_gid_ = RootOutside(maps.gid_map(), 0);
    // From cryo, the parent namespace's owner: any map it holds may be
    // written, setgroups left allowed (the tasks' groups are set inside).
    for (const char* kind : {"uid", "gid"}) {
      std::string text = FormatIdMap(kind[0] == 'u' ? maps.uid_map() : maps.gid_map());
      if (text.empty()) return MakeError(EINVAL, "userns image: no {} map", kind);
      UniqueFd f = CRYO_TRY(Open(fmt::format("/proc/{}/{}_map", pid, kind), O_WRONLY | O_CLOEXEC));
      if (::write(f.get(), text.data(), text.size()) != static_cast<ssize_t>(text.size()))
        return ErrnoError("write the {} map '{}'", kind, text.substr(0, text.find('\n')));
    }
  }
  unsigned char go = 0;
  if (::write(u.go_.get(), &go, 1) != 1) return ErrnoError("user namespace helper");
  CRYO_TRY(WaitStep(from_rd.get(), pid, kOthers));
  u.made_[CLONE_NEWUSER] = CRYO_TRY(Open(fmt::format("/proc/{}/ns/user", pid), O_RDONLY | O_CLOEXEC));
  for (const NsKind& k : kOwned)
    if (flags & k.flag) u.made_[k.flag] = CRYO_TRY(Open(fmt::format("/proc/{}/ns/{}", pid, k.file), O_RDONLY | O_CLOEXEC));
  return u;
}

UserNamespace::UserNamespace(UserNamespace&& o) noexcept
    : helper_(std::exchange(o.helper_, 0)),
      root_uid_(o.root_uid_),
      root_gid_(o.root_gid_),
      go_(std::move(o.go_)),
      made_(std::move(o.made_)) {}

UserNamespace::~UserNamespace() {
  if (helper_ <= 0) return;
  go_.reset();
  ::kill(helper_, SIGKILL);
  while (::waitpid(helper_, nullptr, 0) < 0 && errno == EINTR) {
  }
}

int UserNamespace::Made(int flag) const {
  auto it = made_.find(flag);
  return it == made_.end() ? -1 : it->second.get();
}

std::string UserNamespace::UserPath() const { return fmt::format("/proc/{}/ns/user", helper_); }

}  // namespace cryo::ns
