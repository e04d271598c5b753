// Reading a task's state from /proc: small parsers (text in, values out,
// testable on their own) and thin readers around them.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "engine/base/result.h"
#include "engine/base/unique_fd.h"

namespace cryo {

// One line of /proc/PID/maps, plus VmFlags from smaps.
struct Vma {
  uint64_t start = 0, end = 0, pgoff = 0;
  uint32_t prot = 0;  // PROT_*
  bool shared = false;
  uint32_t dev_major = 0, dev_minor = 0;
  uint64_t ino = 0;
  std::string path;  // "", "[heap]", "[stack]", "[vdso]", a file path
  bool deleted = false;
  std::vector<std::string> vm_flags;  // smaps "VmFlags:" words
  bool HasFlag(std::string_view f) const;
};

Result<std::vector<Vma>> ParseMaps(std::string_view text, bool smaps);
Result<std::vector<Vma>> ReadSmaps(pid_t pid);

// The /proc/PID/stat fields the dumper uses.
struct ProcStat {
  std::string comm;
  char state = '?';
  pid_t ppid = 0, pgrp = 0, session = 0;
  uint32_t tty_nr = 0;  // the controlling terminal (new_encode_dev), 0 for none
  pid_t tpgid = 0;      // its foreground group, -1 for none
  uint32_t flags = 0;
  uint64_t start_time = 0;  // clock ticks after boot: with the pid, names one process for ever
  uint64_t start_code = 0, end_code = 0, start_stack = 0;
  uint64_t start_data = 0, end_data = 0, start_brk = 0;
  uint64_t arg_start = 0, arg_end = 0, env_start = 0, env_end = 0;
  int exit_code = 0;
};

Result<ProcStat> ParseStat(std::string_view text);
Result<ProcStat> ReadStat(pid_t pid, pid_t tid = 0);

// "Key:\tvalue" lines of /proc/PID/status.
Result<std::string> StatusField(std::string_view status, std::string_view key);

std::vector<pid_t> ListThreads(pid_t pid);
std::vector<int> ListFds(pid_t pid);
Result<std::string> ReadLink(const std::string& path);

// The very open file description behind fd `fd` of `pid`, as an fd of the
// caller's (pidfd_getfd; the caller must be allowed to ptrace `pid`).
Result<UniqueFd> TakeTaskFd(pid_t pid, int fd);
// The same through a pidfd of `pid` the caller holds (several fds of one
// process, one pidfd_open). An O_PATH fd cannot be taken.
Result<UniqueFd> OpenPidfd(pid_t pid);
Result<UniqueFd> TakeFdFrom(int pidfd, pid_t pid, int fd);

// /proc/PID/fdinfo/FD: pos and flags (octal).
struct FdInfo {
  uint64_t pos = 0;
  uint32_t flags = 0;
  int mnt_id = -1;
};
Result<FdInfo> ParseFdInfo(std::string_view text);

}  // namespace cryo
