#include "engine/dump/event_files.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <charconv>
#include <cstdio>
#include <cstring>
#include <sstream>
#include <vector>
#include <string>

#include "engine/base/unique_fd.h"
#include "engine/dump/file_table.h"
#include "engine/image/proto/event.pb.h"

namespace cryo {
namespace {

Result<uint64_t> Number(std::string_view v, int base, std::string_view what) {
  uint64_t n = 0;
  if (base == 8 && v.starts_with("0") && v.size() > 1) v.remove_prefix(1);
  auto [p, ec] = std::from_chars(v.data(), v.data() + v.size(), n, base);
  if (v.empty() || ec != std::errc()) return MakeError(EINVAL, "fdinfo: bad {} '{}'", what, v);
  return n;
}

Result<uint64_t> Field(std::string_view text, std::string_view key, int base) {
  std::string_view v = FdInfoValue(text, key);
  if (v.empty()) return MakeError(EINVAL, "fdinfo: no {}", key);
  size_t end = v.find_first_of(" \t");
  return Number(v.substr(0, end), base, key);
}

// "(sec, nsec)" as in a timerfd's it_value.
Result<std::pair<uint64_t, uint64_t>> Pair(std::string_view text, std::string_view key) {
  std::string_view v = FdInfoValue(text, key);
  if (v.size() < 5 || v.front() != '(' || v.back() != ')') return MakeError(EINVAL, "fdinfo: bad {} '{}'", key, v);
  v = v.substr(1, v.size() - 2);
  size_t comma = v.find(',');
  if (comma == std::string_view::npos) return MakeError(EINVAL, "fdinfo: bad {}", key);
  std::string_view a = v.substr(0, comma), b = v.substr(comma + 1);
  while (!b.empty() && b.front() == ' ') b.remove_prefix(1);
  return std::make_pair(CRYO_TRY(Number(a, 10, key)), CRYO_TRY(Number(b, 10, key)));
}

img::file_entry Entry(img::fd_types type, uint32_t id) {
  img::file_entry fe;
  fe.set_type(type);
  fe.set_id(id);
  return fe;
}

}  // namespace

std::string_view FdInfoValue(std::string_view text, std::string_view key) {
  size_t at = 0;
  while (at < text.size()) {
    size_t eol = text.find('\n', at);
    if (eol == std::string_view::npos) eol = text.size();
    std::string_view line = text.substr(at, eol - at);
    if (line.starts_with(key) && line.size() > key.size() && line[key.size()] == ':') {
      line.remove_prefix(key.size() + 1);
      size_t b = line.find_first_not_of(" \t");
      return b == std::string_view::npos ? std::string_view() : line.substr(b);
    }
    at = eol + 1;
  }
  return {};
}

Result<img::file_entry> EventfdEntry(uint32_t id, uint32_t flags, std::string_view fdinfo) {
  img::file_entry fe = Entry(img::EVENTFD, id);
  auto* e = fe.mutable_efd();
  // EFD_SEMAPHORE rides in the flags, on the bit O_WRONLY uses: an eventfd
  // is always O_RDWR.
  std::string_view sem = FdInfoValue(fdinfo, "eventfd-semaphore");
  if (!sem.empty() && sem != "0") flags |= 1;
  e->set_id(id);
  e->set_flags(flags);
  NoOwner(e->mutable_fown());
  e->set_counter(CRYO_TRY(Field(fdinfo, "eventfd-count", 16)));
  return fe;
}

Result<img::file_entry> SignalfdEntry(uint32_t id, uint32_t flags, std::string_view fdinfo) {
  img::file_entry fe = Entry(img::SIGNALFD, id);
  auto* e = fe.mutable_sgfd();
  e->set_id(id);
  e->set_flags(flags);
  NoOwner(e->mutable_fown());
  e->set_sigmask(CRYO_TRY(Field(fdinfo, "sigmask", 16)));
  return fe;
}

Result<img::file_entry> TimerfdEntry(uint32_t id, uint32_t flags, std::string_view fdinfo) {
  img::file_entry fe = Entry(img::TIMERFD, id);
  auto* e = fe.mutable_tfd();
  e->set_id(id);
  e->set_flags(flags);
  NoOwner(e->mutable_fown());
  e->set_clockid(static_cast<uint32_t>(CRYO_TRY(Field(fdinfo, "clockid", 10))));
  e->set_ticks(CRYO_TRY(Field(fdinfo, "ticks", 10)));
  e->set_settime_flags(static_cast<uint32_t>(CRYO_TRY(Field(fdinfo, "settime flags", 8))));
  // it_value is what remains, whatever the flags: restore counts from then.
  auto [vs, vn] = CRYO_TRY(Pair(fdinfo, "it_value"));
  auto [is, in] = CRYO_TRY(Pair(fdinfo, "it_interval"));
  e->set_vsec(vs);
  e->set_vnsec(vn);
  e->set_isec(is);
  e->set_insec(in);
  return fe;
}

Result<img::file_entry> EpollEntry(uint32_t id, uint32_t flags, std::string_view fdinfo) {
  img::file_entry fe = Entry(img::EVENTPOLL, id);
  auto* e = fe.mutable_epfd();
  e->set_id(id);
  e->set_flags(flags);
  NoOwner(e->mutable_fown());
  // "tfd: %8d events: %8x data: %16llx  pos:%lli ino:%lx sdev:%x"
  size_t at = 0;
  while ((at = fdinfo.find("tfd:", at)) != std::string_view::npos) {
    size_t eol = fdinfo.find('\n', at);
    std::string_view line = fdinfo.substr(at, eol == std::string_view::npos ? fdinfo.npos : eol - at);
    at += 4;
    auto word = [&](std::string_view key, int base) -> Result<uint64_t> {
      size_t k = line.find(key);
      if (k == std::string_view::npos) return MakeError(EINVAL, "fdinfo: epoll line without {}", key);
      std::string_view v = line.substr(k + key.size());
      size_t b = v.find_first_not_of(' ');
      v = v.substr(b == std::string_view::npos ? v.size() : b);
      return Number(v.substr(0, v.find(' ')), base, key);
    };
    auto* t = e->add_tfd();
    t->set_id(id);
    t->set_tfd(static_cast<uint32_t>(CRYO_TRY(word("tfd:", 10))));
    t->set_events(static_cast<uint32_t>(CRYO_TRY(word("events:", 16))));
    t->set_data(CRYO_TRY(word("data:", 16)));
  }
  return fe;
}

Result<img::file_entry> PidfdEntry(uint32_t id, uint32_t flags, uint64_t ino, std::string_view fdinfo) {
  img::file_entry fe = Entry(img::PIDFD, id);
  auto* e = fe.mutable_pidfd();
  e->set_id(id);
  e->set_ino(ino);
  e->set_flags(flags);
  std::string_view pid = FdInfoValue(fdinfo, "Pid");
  if (pid.empty()) return MakeError(EINVAL, "fdinfo: pidfd without Pid");
  // A process that has exited is -1, as CRIU writes it: the pidfds of one
  // such process are told apart from another's by their inode.
  e->set_nspid(pid == "-1" ? -1 : static_cast<int32_t>(CRYO_TRY(Number(pid, 10, "Pid"))));
  NoOwner(e->mutable_fown());
  return fe;
}

Result<img::file_entry> InotifyEntry(uint32_t id, uint32_t flags, std::string_view fdinfo) {
  img::file_entry fe = Entry(img::INOTIFY, id);
  auto* e = fe.mutable_ify();
  e->set_id(id);
  e->set_flags(flags);
  NoOwner(e->mutable_fown());
  // "inotify wd:1 ino:3c51a sdev:fe00000 mask:300 ignored_mask:0
  //  fhandle-bytes:8 fhandle-type:1 f_handle:1ac5030000000000"
  size_t at = 0;
  while ((at = fdinfo.find("inotify wd:", at)) != std::string_view::npos) {
    size_t eol = fdinfo.find('\n', at);
    std::string_view line = fdinfo.substr(at, eol == std::string_view::npos ? fdinfo.npos : eol - at);
    at += 11;
    auto word = [&](std::string_view key) -> Result<std::string_view> {
      size_t k = line.find(key);
      if (k == std::string_view::npos) return MakeError(EINVAL, "fdinfo: inotify line without {}", key);
      std::string_view v = line.substr(k + key.size());
      return v.substr(0, v.find(' '));
    };
    auto* w = e->add_wd();
    w->set_id(id);
    w->set_wd(static_cast<uint32_t>(CRYO_TRY(Number(CRYO_TRY(word(" wd:")), 16, "wd"))));
    w->set_i_ino(CRYO_TRY(Number(CRYO_TRY(word(" ino:")), 16, "ino")));
    w->set_s_dev(static_cast<uint32_t>(CRYO_TRY(Number(CRYO_TRY(word(" sdev:")), 16, "sdev"))));
    w->set_mask(static_cast<uint32_t>(CRYO_TRY(Number(CRYO_TRY(word(" mask:")), 16, "mask"))));
    w->set_ignored_mask(static_cast<uint32_t>(CRYO_TRY(Number(CRYO_TRY(word(" ignored_mask:")), 16, "ignored_mask"))));
    auto* h = w->mutable_f_handle();
    uint64_t bytes = CRYO_TRY(Number(CRYO_TRY(word(" fhandle-bytes:")), 16, "fhandle-bytes"));
    h->set_bytes(static_cast<uint32_t>(bytes));
    h->set_type(static_cast<uint32_t>(CRYO_TRY(Number(CRYO_TRY(word(" fhandle-type:")), 16, "fhandle-type"))));
    std::string_view hex = CRYO_TRY(word(" f_handle:"));
    if (bytes > 128 || hex.size() != bytes * 2) return MakeError(EINVAL, "fdinfo: inotify handle of {} bytes: '{}'", bytes, hex);
    std::string raw(bytes, '\0');
    for (size_t i = 0; i < bytes; i++) raw[i] = static_cast<char>(CRYO_TRY(Number(hex.substr(2 * i, 2), 16, "f_handle")));
    raw.resize((bytes + 7) & ~size_t{7}, '\0');
    for (size_t i = 0; i < raw.size(); i += 8) {
      uint64_t v;
      std::memcpy(&v, raw.data() + i, 8);
      h->add_handle(v);
    }
  }
  return fe;
}

Result<std::vector<uint32_t>> ResolveWatches(img::file_entry& fe, std::string_view mountinfo,
                                             const std::string& view) {
  std::vector<uint32_t> unlinked;
  for (auto& w : *fe.mutable_ify()->mutable_wd()) {
    // The mounts of that superblock: "ID PARENT MAJ:MIN ROOT MOUNTPOINT ...".
    std::vector<std::string> mountpoints;
    std::istringstream lines{std::string(mountinfo)};
    std::string line;
    while (std::getline(lines, line)) {
      std::istringstream f(line);
      std::string id, parent, dev, root, mp;
      if (!(f >> id >> parent >> dev >> root >> mp)) continue;
      unsigned maj = 0, min = 0;
      if (std::sscanf(dev.c_str(), "%u:%u", &maj, &min) != 2) continue;
      if (((maj << 20) | min) == w.s_dev()) mountpoints.push_back(mp);
    }
    if (mountpoints.empty()) return MakeError(ENOENT, "inotify watch {}: no mount of device {:#x}", w.wd(), w.s_dev());
    const auto& h = w.f_handle();
    std::vector<char> buf(sizeof(file_handle) + h.handle_size() * 8);
    auto* fh = reinterpret_cast<file_handle*>(buf.data());
    fh->handle_bytes = h.bytes();
    fh->handle_type = static_cast<int>(h.type());
    for (int i = 0; i < h.handle_size(); i++) {
      uint64_t v = h.handle(i);
      std::memcpy(fh->f_handle + i * 8, &v, 8);
    }
    // The first mount that shows the inode: its path there names it (a
    // bind mount of part of the filesystem may not).
    std::string found, last_error;
    for (const auto& mountpoint : mountpoints) {
      UniqueFd mfd(::open((view + mountpoint).c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));  // not O_PATH: open_by_handle_at refuses those
      if (mfd.get() < 0) {
        last_error = fmt::format("open mount {}: {}", mountpoint, std::strerror(errno));
        continue;
      }
      UniqueFd ifd(::open_by_handle_at(mfd.get(), fh, O_PATH | O_CLOEXEC));
      if (ifd.get() < 0) {
        last_error = fmt::format("inode {} on {}: {}", w.i_ino(), mountpoint, std::strerror(errno));
        continue;
      }
      char path[4096];
      ssize_t n = ::readlink(fmt::format("/proc/self/fd/{}", ifd.get()).c_str(), path, sizeof path - 1);
      if (n <= 0) continue;
      std::string p(path, static_cast<size_t>(n));
      struct stat a, b;
      if (p.ends_with(" (deleted)") && ::fstat(ifd.get(), &a) == 0 && a.st_nlink == 0) {
        found = p;  // no path any more: the ghost of an fd on it, if any
        break;
      }
      if (p.ends_with(" (deleted)") || p.front() != '/' || ::fstat(ifd.get(), &a) != 0 ||
          ::stat((view + p).c_str(), &b) != 0 || a.st_ino != b.st_ino || a.st_dev != b.st_dev) {
        last_error = fmt::format("inode {} has no path through {} ({})", w.i_ino(), mountpoint, p);
        continue;
      }
      found = p;
      break;
    }
    if (found.empty()) return MakeError(ENOTSUP, "inotify watch {}: {}: not supported", w.wd(), last_error);
    if (found.ends_with(" (deleted)")) {
      unlinked.push_back(w.wd());
      continue;
    }
    w.mutable_f_handle()->set_path(found);
  }
  return unlinked;
}

}  // namespace cryo
