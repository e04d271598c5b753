#include "engine/proc/proc.h"

#include <dirent.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <charconv>
#include <cstdlib>

#include "engine/base/files.h"

namespace cryo {
namespace {

std::string_view NextWord(std::string_view& s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  size_t end = s.find_first_of(" \t");
  std::string_view w = s.substr(0, end);
  s = end == std::string_view::npos ? std::string_view() : s.substr(end);
  return w;
}

bool Hex(std::string_view s, uint64_t& out) {
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), out, 16);
  return ec == std::errc() && p == s.data() + s.size();
}

bool Dec(std::string_view s, uint64_t& out) {
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), out, 10);
  return ec == std::errc() && p == s.data() + s.size();
}

}  // namespace

bool Vma::HasFlag(std::string_view f) const {
  return std::find(vm_flags.begin(), vm_flags.end(), f) != vm_flags.end();
}

Result<std::vector<Vma>> ParseMaps(std::string_view text, bool smaps) {
  std::vector<Vma> out;
  size_t lineno = 0;
  while (!text.empty()) {
    size_t nl = text.find('\n');
    std::string_view line = text.substr(0, nl);
    text = nl == std::string_view::npos ? std::string_view() : text.substr(nl + 1);
    lineno++;
    if (line.empty()) continue;
    if (smaps && !out.empty()) {
      // Key lines of the previous mapping: "Rss:   4 kB", "VmFlags: rd wr".
      size_t colon = line.find(':');
      size_t space = line.find(' ');
      if (colon != std::string_view::npos && (space == std::string_view::npos || colon < space)) {
        if (line.starts_with("VmFlags:")) {
          std::string_view rest = line.substr(8);
          for (std::string_view w = NextWord(rest); !w.empty(); w = NextWord(rest))
            out.back().vm_flags.emplace_back(w);
        }
        continue;
      }
    }
    auto bad = [&](const char* what) {
      return MakeError(0, "maps line {}: {}: '{}'", lineno, what, line);
    };
    Vma v;
    std::string_view rest = line;
    std::string_view range = NextWord(rest), perms = NextWord(rest), off = NextWord(rest),
                     dev = NextWord(rest), ino = NextWord(rest);
    size_t dash = range.find('-');
    if (dash == std::string_view::npos || !Hex(range.substr(0, dash), v.start) ||
        !Hex(range.substr(dash + 1), v.end) || v.end <= v.start)
      return bad("bad address range");
    if (perms.size() != 4) return bad("bad permissions");
    if (perms[0] == 'r') v.prot |= PROT_READ;
    if (perms[1] == 'w') v.prot |= PROT_WRITE;
    if (perms[2] == 'x') v.prot |= PROT_EXEC;
    v.shared = perms[3] == 's';
    if (!Hex(off, v.pgoff)) return bad("bad offset");
    size_t c = dev.find(':');
    uint64_t maj, min;
    if (c == std::string_view::npos || !Hex(dev.substr(0, c), maj) || !Hex(dev.substr(c + 1), min))
      return bad("bad device");
    v.dev_major = static_cast<uint32_t>(maj);
    v.dev_minor = static_cast<uint32_t>(min);
    if (!Dec(ino, v.ino)) return bad("bad inode");
    while (!rest.empty() && rest.front() == ' ') rest.remove_prefix(1);
    v.path = std::string(rest);
    constexpr std::string_view kDeleted = " (deleted)";
    if (v.path.ends_with(kDeleted) && v.path.front() == '/') {
      v.deleted = true;
      v.path.resize(v.path.size() - kDeleted.size());
    }
    out.push_back(std::move(v));
  }
  return out;
}

Result<std::vector<Vma>> ReadSmaps(pid_t pid) {
  std::string path = fmt::format("/proc/{}/smaps", pid);
  std::string text = CRYO_TRY(ReadFile(path));
  return CRYO_TRY_CTX(ParseMaps(text, true), "{}", path);
}

Result<ProcStat> ParseStat(std::string_view text) {
  ProcStat st;
  size_t lp = text.find('('), rp = text.rfind(')');
  if (lp == std::string_view::npos || rp == std::string_view::npos || rp < lp)
    return MakeError(0, "stat: no command name");
  st.comm = std::string(text.substr(lp + 1, rp - lp - 1));
  std::string_view rest = text.substr(rp + 1);
  std::vector<std::string_view> f;  // f[0] is field 3 (state)
  for (std::string_view w = NextWord(rest); !w.empty(); w = NextWord(rest)) f.push_back(w);
  if (f.size() < 50) return MakeError(0, "stat: {} fields, want 52", f.size() + 2);
  auto num = [&](int field) -> uint64_t {
    uint64_t v = 0;
    std::string_view w = f[static_cast<size_t>(field - 3)];
    if (!w.empty() && w[0] == '-') return static_cast<uint64_t>(std::strtoll(std::string(w).c_str(), nullptr, 10));
    Dec(w, v);
    return v;
  };
  st.state = f[0].empty() ? '?' : f[0][0];
  st.ppid = static_cast<pid_t>(num(4));
  st.pgrp = static_cast<pid_t>(num(5));
  st.session = static_cast<pid_t>(num(6));
  st.tty_nr = static_cast<uint32_t>(num(7));
  st.tpgid = static_cast<pid_t>(num(8));
  st.flags = static_cast<uint32_t>(num(9));
  st.start_time = num(22);
  st.start_code = num(26);
  st.end_code = num(27);
  st.start_stack = num(28);
  st.start_data = num(45);
  st.end_data = num(46);
  st.start_brk = num(47);
  st.arg_start = num(48);
  st.arg_end = num(49);
  st.env_start = num(50);
  st.env_end = num(51);
  st.exit_code = static_cast<int>(num(52));
  return st;
}

Result<ProcStat> ReadStat(pid_t pid, pid_t tid) {
  std::string path = tid ? fmt::format("/proc/{}/task/{}/stat", pid, tid) : fmt::format("/proc/{}/stat", pid);
  std::string text = CRYO_TRY(ReadFile(path));
  return CRYO_TRY_CTX(ParseStat(text), "{}", path);
}

Result<std::string> StatusField(std::string_view status, std::string_view key) {
  size_t at = 0;
  while (at < status.size()) {
    size_t nl = status.find('\n', at);
    std::string_view line = status.substr(at, nl == std::string_view::npos ? std::string_view::npos : nl - at);
    if (line.starts_with(key) && line.size() > key.size() && line[key.size()] == ':') {
      std::string_view v = line.substr(key.size() + 1);
      while (!v.empty() && (v.front() == ' ' || v.front() == '\t')) v.remove_prefix(1);
      return std::string(v);
    }
    if (nl == std::string_view::npos) break;
    at = nl + 1;
  }
  return MakeError(ENOENT, "status has no {} line", key);
}

static std::vector<long> ListNumbers(const std::string& dir) {
  std::vector<long> out;
  DIR* d = ::opendir(dir.c_str());
  if (d == nullptr) return out;
  while (dirent* e = ::readdir(d)) {
    char* end;
    long v = std::strtol(e->d_name, &end, 10);
    if (*end == '\0' && e->d_name[0] != '\0') out.push_back(v);
  }
  ::closedir(d);
  std::sort(out.begin(), out.end());
  return out;
}

std::vector<pid_t> ListThreads(pid_t pid) {
  std::vector<pid_t> out;
  for (long t : ListNumbers(fmt::format("/proc/{}/task", pid))) out.push_back(static_cast<pid_t>(t));
  // The leader first, as pstree_entry.threads wants.
  auto it = std::find(out.begin(), out.end(), pid);
  if (it != out.end()) std::rotate(out.begin(), it, it + 1);
  return out;
}

std::vector<int> ListFds(pid_t pid) {
  std::vector<int> out;
  for (long fd : ListNumbers(fmt::format("/proc/{}/fd", pid))) out.push_back(static_cast<int>(fd));
  return out;
}

Result<std::string> ReadLink(const std::string& path) {
  char buf[4096];
  ssize_t n = ::readlink(path.c_str(), buf, sizeof buf);
  if (n < 0) return ErrnoError("readlink {}", path);
  return std::string(buf, static_cast<size_t>(n));
}

Result<FdInfo> ParseFdInfo(std::string_view text) {
  FdInfo fi;
  auto pos = StatusField(text, "pos");
  auto flags = StatusField(text, "flags");
  if (!pos || !flags) return MakeError(0, "fdinfo without pos/flags");
  fi.pos = std::strtoull(pos->c_str(), nullptr, 10);
  fi.flags = static_cast<uint32_t>(std::strtoul(flags->c_str(), nullptr, 8));
  if (auto m = StatusField(text, "mnt_id")) fi.mnt_id = std::atoi(m->c_str());
  return fi;
}

Result<UniqueFd> OpenPidfd(pid_t pid) {
  UniqueFd pidfd(static_cast<int>(::syscall(SYS_pidfd_open, pid, 0)));
  if (pidfd.get() < 0) return ErrnoError("pidfd_open {}", pid);
  return pidfd;
}

Result<UniqueFd> TakeFdFrom(int pidfd, pid_t pid, int fd) {
  UniqueFd ours(static_cast<int>(::syscall(SYS_pidfd_getfd, pidfd, fd, 0)));
  if (ours.get() < 0) return ErrnoError("pidfd_getfd {} fd {}", pid, fd);
  return ours;
}

Result<UniqueFd> TakeTaskFd(pid_t pid, int fd) {
  UniqueFd pidfd = CRYO_TRY(OpenPidfd(pid));
  return TakeFdFrom(pidfd.get(), pid, fd);
}

}  // namespace cryo
