#include "engine/dump/event_files.h"

#include <charconv>
#include <string>

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
  if (pid == "-1" || pid.empty()) return MakeError(ENOTSUP, "a pidfd of a process that has exited: not supported yet");
  e->set_nspid(static_cast<int32_t>(CRYO_TRY(Number(pid, 10, "Pid"))));
  NoOwner(e->mutable_fown());
  return fe;
}

}  // namespace cryo
