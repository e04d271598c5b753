#include "engine/ns/ipc.h"

#include <fcntl.h>
#include <sched.h>
#include <unistd.h>

#include <charconv>
#include <cstring>
#include <map>
#include <vector>

#include "engine/base/files.h"
#include "engine/ns/probe.h"

namespace cryo::ns {
namespace {

// The sysctls, as /proc/sys paths, in the order Probe reports them.
constexpr const char* kFiles[] = {
    "kernel/sem",          "kernel/msgmax",          "kernel/msgmnb",        "kernel/msgmni",
    "kernel/shmmax",       "kernel/shmall",          "kernel/shmmni",        "kernel/shm_rmid_forced",
    "fs/mqueue/queues_max", "fs/mqueue/msg_max",     "fs/mqueue/msgsize_max", "fs/mqueue/msg_default",
    "fs/mqueue/msgsize_default", "kernel/msg_next_id", "kernel/sem_next_id", "kernel/shm_next_id",
};
constexpr const char* kObjects[] = {"/proc/sysvipc/shm", "/proc/sysvipc/sem", "/proc/sysvipc/msg"};

// One line per file: "path value" ("path -" when absent), then
// "objects N" for the SysV objects (lines past each file's header).
long Probe(char* out, size_t cap, const char*) {
  size_t n = 0;
  auto put = [&](const char* s, size_t len) {
    if (n + len > cap) return false;
    ::memcpy(out + n, s, len);
    n += len;
    return true;
  };
  char buf[512];
  for (const char* f : kFiles) {
    char path[128] = "/proc/sys/";
    ::strcat(path, f);
    if (!put(f, ::strlen(f)) || !put(" ", 1)) return -ENOSPC;
    int fd = ::open(path, O_RDONLY);
    long r = fd < 0 ? -1 : ::read(fd, buf, sizeof buf - 1);
    if (fd >= 0) ::close(fd);
    if (r <= 0) {
      if (!put("-\n", 2)) return -ENOSPC;
      continue;
    }
    for (long i = 0; i < r; i++)
      if (buf[i] == '\t') buf[i] = ' ';
    if (buf[r - 1] != '\n') buf[r++] = '\n';
    if (!put(buf, static_cast<size_t>(r))) return -ENOSPC;
  }
  long objects = 0;
  for (const char* f : kObjects) {
    int fd = ::open(f, O_RDONLY);
    if (fd < 0) continue;
    long lines = 0, r;
    while ((r = ::read(fd, buf, sizeof buf)) > 0)
      for (long i = 0; i < r; i++) lines += buf[i] == '\n';
    ::close(fd);
    if (lines > 1) objects += lines - 1;
  }
  char tail[32] = "objects ";
  size_t len = ::strlen(tail);
  char digits[20];
  int d = 0;
  do {
    digits[d++] = static_cast<char>('0' + objects % 10);
    objects /= 10;
  } while (objects > 0);
  while (d > 0) tail[len++] = digits[--d];
  tail[len++] = '\n';
  if (!put(tail, len)) return -ENOSPC;
  return static_cast<long>(n);
}

Result<std::vector<uint64_t>> Numbers(std::string_view s, std::string_view what) {
  std::vector<uint64_t> out;
  while (!s.empty()) {
    size_t b = s.find_first_not_of(' ');
    if (b == std::string_view::npos) break;
    s.remove_prefix(b);
    // Values go up to 2^64 - 1 (shmmax); only next ids can be -1.
    const char* end = nullptr;
    if (s[0] == '-') {
      int64_t v = 0;
      auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
      if (ec != std::errc()) return MakeError(EIO, "{}: '{}' is not a number", what, s);
      out.push_back(static_cast<uint64_t>(v));
      end = p;
    } else {
      uint64_t v = 0;
      auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
      if (ec != std::errc()) return MakeError(EIO, "{}: '{}' is not a number", what, s);
      out.push_back(v);
      end = p;
    }
    s.remove_prefix(static_cast<size_t>(end - s.data()));
  }
  return out;
}

}  // namespace

Result<img::ipc_var_entry> DumpIpcVar(pid_t pid) {
  std::string text = CRYO_TRY_CTX(ReadInside(pid, CLONE_NEWIPC, Probe), "IPC namespace of {}", pid);
  std::map<std::string, std::string> v;
  std::string_view s = text;
  while (!s.empty()) {
    size_t nl = s.find('\n');
    std::string_view line = s.substr(0, nl);
    s = nl == std::string_view::npos ? std::string_view() : s.substr(nl + 1);
    size_t sp = line.find(' ');
    if (sp != std::string_view::npos) v[std::string(line.substr(0, sp))] = std::string(line.substr(sp + 1));
  }
  auto one = [&](const char* f) -> Result<uint64_t> {
    auto n = CRYO_TRY(Numbers(v[f], f));
    if (n.size() != 1) return MakeError(EIO, "{}: '{}'", f, v[f]);
    return n[0];
  };
  img::ipc_var_entry e;
  for (uint64_t x : CRYO_TRY(Numbers(v["kernel/sem"], "kernel/sem"))) e.add_sem_ctls(static_cast<uint32_t>(x));
  e.set_msg_ctlmax(static_cast<uint32_t>(CRYO_TRY(one("kernel/msgmax"))));
  e.set_msg_ctlmnb(static_cast<uint32_t>(CRYO_TRY(one("kernel/msgmnb"))));
  e.set_msg_ctlmni(static_cast<uint32_t>(CRYO_TRY(one("kernel/msgmni"))));
  e.set_auto_msgmni(0);  // gone from the kernel since 4.x
  e.set_shm_ctlmax(CRYO_TRY(one("kernel/shmmax")));
  e.set_shm_ctlall(CRYO_TRY(one("kernel/shmall")));
  e.set_shm_ctlmni(static_cast<uint32_t>(CRYO_TRY(one("kernel/shmmni"))));
  e.set_shm_rmid_forced(static_cast<uint32_t>(CRYO_TRY(one("kernel/shm_rmid_forced"))));
  e.set_mq_queues_max(static_cast<uint32_t>(CRYO_TRY(one("fs/mqueue/queues_max"))));
  e.set_mq_msg_max(static_cast<uint32_t>(CRYO_TRY(one("fs/mqueue/msg_max"))));
  e.set_mq_msgsize_max(static_cast<uint32_t>(CRYO_TRY(one("fs/mqueue/msgsize_max"))));
  if (v["fs/mqueue/msg_default"] != "-") e.set_mq_msg_default(static_cast<uint32_t>(CRYO_TRY(one("fs/mqueue/msg_default"))));
  if (v["fs/mqueue/msgsize_default"] != "-")
    e.set_mq_msgsize_default(static_cast<uint32_t>(CRYO_TRY(one("fs/mqueue/msgsize_default"))));
  // -1 (the default: the kernel picks) is left out.
  auto next = [&](const char* f, auto set) -> Result<> {
    if (v[f] == "-" || v[f] == "-1") return {};
    set(static_cast<uint32_t>(CRYO_TRY(one(f))));
    return {};
  };
  CRYO_TRY(next("kernel/msg_next_id", [&](uint32_t x) { e.set_msg_next_id(x); }));
  CRYO_TRY(next("kernel/sem_next_id", [&](uint32_t x) { e.set_sem_next_id(x); }));
  CRYO_TRY(next("kernel/shm_next_id", [&](uint32_t x) { e.set_shm_next_id(x); }));
  return e;
}

Result<> ApplyIpcVar(const img::ipc_var_entry& e) {
  auto put = [](const char* f, const std::string& value) -> Result<> {
    std::string path = std::string("/proc/sys/") + f;
    UniqueFd fd = CRYO_TRY(Open(path, O_WRONLY | O_CLOEXEC));
    if (::write(fd.get(), value.data(), value.size()) < 0) return ErrnoError("write {} to {}", value, path);
    return {};
  };
  if (e.sem_ctls_size() == 4)
    CRYO_TRY(put("kernel/sem", fmt::format("{} {} {} {}", e.sem_ctls(0), e.sem_ctls(1), e.sem_ctls(2), e.sem_ctls(3))));
  CRYO_TRY(put("kernel/msgmax", std::to_string(e.msg_ctlmax())));
  CRYO_TRY(put("kernel/msgmnb", std::to_string(e.msg_ctlmnb())));
  CRYO_TRY(put("kernel/msgmni", std::to_string(e.msg_ctlmni())));
  CRYO_TRY(put("kernel/shmmax", std::to_string(e.shm_ctlmax())));
  CRYO_TRY(put("kernel/shmall", std::to_string(e.shm_ctlall())));
  CRYO_TRY(put("kernel/shmmni", std::to_string(e.shm_ctlmni())));
  CRYO_TRY(put("kernel/shm_rmid_forced", std::to_string(e.shm_rmid_forced())));
  CRYO_TRY(put("fs/mqueue/queues_max", std::to_string(e.mq_queues_max())));
  CRYO_TRY(put("fs/mqueue/msg_max", std::to_string(e.mq_msg_max())));
  CRYO_TRY(put("fs/mqueue/msgsize_max", std::to_string(e.mq_msgsize_max())));
  if (e.has_mq_msg_default()) CRYO_TRY(put("fs/mqueue/msg_default", std::to_string(e.mq_msg_default())));
  if (e.has_mq_msgsize_default()) CRYO_TRY(put("fs/mqueue/msgsize_default", std::to_string(e.mq_msgsize_default())));
  if (e.has_msg_next_id()) CRYO_TRY(put("kernel/msg_next_id", std::to_string(e.msg_next_id())));
  if (e.has_sem_next_id()) CRYO_TRY(put("kernel/sem_next_id", std::to_string(e.sem_next_id())));
  if (e.has_shm_next_id()) CRYO_TRY(put("kernel/shm_next_id", std::to_string(e.shm_next_id())));
  return {};
}

Result<InIpcNamespace> InIpcNamespace::Join(pid_t pid) {
  InIpcNamespace in;
  in.own_ = CRYO_TRY(Open("/proc/self/ns/ipc", O_RDONLY | O_CLOEXEC));
  UniqueFd theirs = CRYO_TRY(Open(fmt::format("/proc/{}/ns/ipc", pid), O_RDONLY | O_CLOEXEC));
  if (::setns(theirs.get(), CLONE_NEWIPC) != 0) return ErrnoError("join the IPC namespace of {}", pid);
  return in;
}

InIpcNamespace::~InIpcNamespace() {
  if (own_) (void)::setns(own_.get(), CLONE_NEWIPC);
}

}  // namespace cryo::ns
