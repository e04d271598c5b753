#include "engine/dump/file_locks.h"

#include <fcntl.h>

#include <charconv>
#include <sstream>
#include <string>

namespace cryo {

Result<std::vector<img::file_lock_entry>> ParseFdLocks(std::string_view fdinfo, pid_t pid, int fd) {
  std::vector<img::file_lock_entry> out;
  size_t at = 0;
  while ((at = fdinfo.find("lock:", at)) != std::string_view::npos) {
    size_t eol = fdinfo.find('\n', at);
    std::string line(fdinfo.substr(at + 5, eol == std::string_view::npos ? fdinfo.npos : eol - at - 5));
    at = eol == std::string_view::npos ? fdinfo.size() : eol;
    // "1: POSIX  ADVISORY  WRITE 1234 00:2e:1182 0 EOF"
    std::istringstream in(line);
    std::string num, cls, mode, type, owner, dev, start, end;
    if (!(in >> num >> cls >> mode >> type >> owner >> dev >> start >> end))
      return MakeError(EINVAL, "fdinfo: bad lock line '{}'", line);
    if (cls == "->") continue;  // a waiter, not a lock
    img::file_lock_entry e;
    if (cls == "POSIX") {
      e.set_flag(kLockPosix);
    } else if (cls == "FLOCK") {
      e.set_flag(kLockFlock);
    } else if (cls == "OFDLCK") {
      e.set_flag(kLockOfd);
    } else if (cls == "LEASE") {
      e.set_flag(kLockLease);
    } else {
      return MakeError(ENOTSUP, "pid {} fd {}: a {} lock is not supported", pid, fd, cls);
    }
    bool lease = e.flag() == kLockLease;
    // A lease is ACTIVE, or BREAKING (shown with the type it breaks to).
    bool breaking = lease && mode == "BREAKING";
    if (lease ? mode != "ACTIVE" && !breaking : mode != "ADVISORY")
      return MakeError(ENOTSUP, "pid {} fd {}: a {} {} lock is not supported", pid, fd, mode, cls);
    if (type == "READ") {
      e.set_type(F_RDLCK);
    } else if (type == "WRITE") {
      e.set_type(F_WRLCK);
    } else if (type == "UNLCK" && breaking) {
      e.set_type(F_UNLCK);
    } else {
      return MakeError(ENOTSUP, "pid {} fd {}: a {} lock is not supported", pid, fd, type);
    }
    int64_t s = 0, en = 0, who = 0;
    auto num_of = [](const std::string& v, int64_t& n) {
      auto [p, ec] = std::from_chars(v.data(), v.data() + v.size(), n);
      return ec == std::errc() && p == v.data() + v.size();
    };
    if (!num_of(start, s) || (end != "EOF" && !num_of(end, en)) || !num_of(owner, who))
      return MakeError(EINVAL, "fdinfo: bad lock line '{}'", line);
    // A POSIX lock is its owner's: other processes see it through their fds too.
    if (e.flag() == kLockPosix && who != pid) continue;
    if (breaking) e.set_type(e.type() | kLeaseBreaking);
    e.set_pid(pid);
    e.set_fd(fd);
    e.set_start(s);
    e.set_len(end == "EOF" ? 0 : en - s + 1);
    out.push_back(std::move(e));
  }
  return out;
}

}  // namespace cryo
