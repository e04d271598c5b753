#include "engine/dump/pty.h"

#include "engine/dump/pid_map.h"

#include <fcntl.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <termios.h>
#include <unistd.h>

#include "engine/base/files.h"
#include "engine/base/unique_fd.h"
#include "engine/image/image_writer.h"
#include "engine/proc/proc.h"

namespace cryo {
namespace {

constexpr unsigned kPtsMajorFirst = 136, kPtsMajorLast = 143;

uint32_t KernelDev(dev_t d) { return static_cast<uint32_t>((major(d) << 20) | minor(d)); }

void TermiosToImage(const termios& t, img::termios_entry* e) {
  e->set_c_iflag(t.c_iflag);
  e->set_c_oflag(t.c_oflag);
  e->set_c_cflag(t.c_cflag);
  e->set_c_lflag(t.c_lflag);
  e->set_c_line(t.c_line);
  e->set_c_ispeed(::cfgetispeed(&t));
  e->set_c_ospeed(::cfgetospeed(&t));
  for (unsigned char c : t.c_cc) e->add_c_cc(c);
}

}  // namespace

bool Ptys::IsMaster(dev_t rdev) { return major(rdev) == 5 && minor(rdev) == 2; }

bool Ptys::IsTreeSlave(dev_t rdev) const {
  unsigned maj = major(rdev);
  if (maj < kPtsMajorFirst || maj > kPtsMajorLast) return false;
  return indexes_.count((maj - kPtsMajorFirst) * 256 + minor(rdev)) > 0;
}

bool Ptys::IsTreeCtty(pid_t pid) const {
  auto st = ReadStat(pid);
  if (!st || st->tty_nr == 0) return false;
  unsigned maj = (static_cast<unsigned>(st->tty_nr) >> 8) & 0xfff;
  unsigned min = (static_cast<unsigned>(st->tty_nr) & 0xff) | ((static_cast<unsigned>(st->tty_nr) >> 12) & 0xfff00);
  if (maj < kPtsMajorFirst || maj > kPtsMajorLast) return false;
  auto it = indexes_.find((maj - kPtsMajorFirst) * 256 + min);
  return it != indexes_.end() && !it->second.hung;
}

Result<> Ptys::Find(const std::vector<pid_t>& pids, bool orphans) {
  for (pid_t pid : pids) {
    for (int fd : ListFds(pid)) {
      struct stat st;
      if (::stat(fmt::format("/proc/{}/fd/{}", pid, fd).c_str(), &st) != 0 || !S_ISCHR(st.st_mode) ||
          !IsMaster(st.st_rdev))
        continue;
      UniqueFd m = CRYO_TRY(TakeTaskFd(pid, fd));
      unsigned index = 0;
      if (::ioctl(m.get(), TIOCGPTN, &index) != 0) return ErrnoError("pid {} fd {}: pty index", pid, fd);
      // Asked through the master: on the slave only its own session may.
      Session se;
      if (::ioctl(m.get(), TIOCGSID, &se.sid) != 0) se.sid = 0;
      if (se.sid != 0 && ::ioctl(m.get(), TIOCGPGRP, &se.pgrp) != 0) se.pgrp = 0;
      se.master_pid = pid;
      se.master_fd = fd;
      indexes_[index] = se;
    }
  }
  // Hung-up slaves: their master was closed, their node is gone.
  for (pid_t pid : pids) {
    for (int fd : ListFds(pid)) {
      std::string at = fmt::format("/proc/{}/fd/{}", pid, fd);
      struct stat st;
      if (::stat(at.c_str(), &st) != 0 || !S_ISCHR(st.st_mode)) continue;
      unsigned maj = major(st.st_rdev), min = minor(st.st_rdev);
      if (maj < kPtsMajorFirst || maj > kPtsMajorLast) continue;
      uint32_t index = (maj - kPtsMajorFirst) * 256 + min;
      auto link = ReadLink(at);
      if (indexes_.count(index) || !link || !link->starts_with("/dev/pts/") || !link->ends_with(" (deleted)")) continue;
      Session se;
      se.hung = true;
      indexes_[index] = se;
    }
  }
  if (!orphans) return {};
  for (pid_t pid : pids) {
    for (int fd : ListFds(pid)) {
      struct stat st;
      if (::stat(fmt::format("/proc/{}/fd/{}", pid, fd).c_str(), &st) != 0 || !S_ISCHR(st.st_mode)) continue;
      unsigned maj = major(st.st_rdev), min = minor(st.st_rdev);
      if (maj < kPtsMajorFirst || maj > kPtsMajorLast) continue;
      uint32_t index = (maj - kPtsMajorFirst) * 256 + min;
      if (indexes_.count(index)) continue;
      // The session whose terminal it is, and its foreground group.
      uint32_t tty_nr = (min & 0xff) | (maj << 8) | ((min & ~0xffu) << 12);
      Session se;
      for (pid_t p : pids) {
        auto ps = ReadStat(p);
        if (ps && ps->tty_nr == tty_nr && ps->session == p) {
          se.sid = p;
          se.pgrp = ps->tpgid > 0 ? ps->tpgid : 0;
        }
      }
      indexes_[index] = se;
    }
  }
  return {};
}

Result<uint32_t> Ptys::Info(uint32_t index, bool master, pid_t pid, int fd) {
  if (auto it = info_ids_.find({index, master}); it != info_ids_.end()) return it->second;
  std::string slave_path = fmt::format("/dev/pts/{}", index);
  UniqueFd end = CRYO_TRY(TakeTaskFd(pid, fd));
  // The slave of that very pty, whichever devpts instance it is on (a
  // container has its own): through the master, or the task's own slave.
  UniqueFd slave(master ? ::ioctl(end.get(), TIOCGPTPEER, O_RDWR | O_NOCTTY | O_NONBLOCK | O_CLOEXEC)
                        : ::fcntl(end.get(), F_DUPFD_CLOEXEC, 0));
  if (!slave) return ErrnoError("pty {}: its slave", index);
  img::tty_info_entry e;
  uint32_t id = next_info_++;
  e.set_id(id);
  e.set_type(img::PTY);
  if (indexes_[index].hung) {
    // As CRIU records a hung-up terminal: no termios, nothing else to ask.
    e.set_locked(false);
    e.set_exclusive(false);
    e.set_packet_mode(false);
    e.set_sid(0);
    e.set_pgrp(0);
    struct stat st;
    if (::fstat(slave.get(), &st) != 0) return ErrnoError("stat {}", slave_path);
    e.set_rdev(KernelDev(st.st_rdev));
    e.mutable_pty()->set_index(index);
    infos_.push_back(std::move(e));
    info_ids_[{index, master}] = id;
    return id;
  }
  int locked = 0;
  if (master) ::ioctl(end.get(), TIOCGPTLCK, &locked);
  e.set_locked(locked != 0);
  int excl = 0;
  ::ioctl(slave.get(), TIOCGEXCL, &excl);
  e.set_exclusive(excl != 0);
  int packet = 0;
  if (master) ::ioctl(end.get(), TIOCGPKT, &packet);
  e.set_packet_mode(packet != 0);
  const Session& se = indexes_[index];
  e.set_sid(static_cast<uint32_t>(pids_ ? pids_->Dumped(se.sid) : se.sid));
  e.set_pgrp(static_cast<uint32_t>(pids_ ? pids_->Dumped(se.pgrp) : se.pgrp));
  struct stat st;
  if (::fstat(slave.get(), &st) != 0) return ErrnoError("stat {}", slave_path);
  e.set_rdev(master ? KernelDev(makedev(5, 2)) : KernelDev(st.st_rdev));
  e.set_uid(st.st_uid);
  e.set_gid(st.st_gid);
  termios t{};
  if (::tcgetattr(slave.get(), &t) != 0) return ErrnoError("termios of {}", slave_path);
  TermiosToImage(t, e.mutable_termios());
  winsize ws{};
  if (::ioctl(slave.get(), TIOCGWINSZ, &ws) != 0) return ErrnoError("window size of {}", slave_path);
  auto* w = e.mutable_winsize();
  w->set_ws_row(ws.ws_row);
  w->set_ws_col(ws.ws_col);
  w->set_ws_xpixel(ws.ws_xpixel);
  w->set_ws_ypixel(ws.ws_ypixel);
  e.mutable_pty()->set_index(index);
  if (!input_taken_.count(index)) {
    input_taken_.insert(index);
    CRYO_TRY(TakeInput(index, slave.get()));
  }
  if (master) {
    int out = 0;
    if (::ioctl(end.get(), FIONREAD, &out) != 0) return ErrnoError("pty {}: FIONREAD", index);
    if (out > 0) {
      // Read it all (non-blocking for the moment: the description is the
      // task's, its flags are put back), then give it back through the
      // slave with output processing off, so the bytes are the same.
      std::string data(static_cast<size_t>(out), '\0');
      int fl = ::fcntl(end.get(), F_GETFL);
      ::fcntl(end.get(), F_SETFL, fl | O_NONBLOCK);
      size_t got = 0;
      while (got < data.size()) {
        ssize_t n = ::read(end.get(), data.data() + got, data.size() - got);
        if (n <= 0) break;
        got += static_cast<size_t>(n);
      }
      ::fcntl(end.get(), F_SETFL, fl);
      data.resize(got);
      termios raw = t;
      raw.c_oflag &= ~static_cast<tcflag_t>(OPOST);
      if (::tcsetattr(slave.get(), TCSANOW, &raw) != 0) return ErrnoError("pty {}: output processing off", index);
      auto back = WriteAll(slave.get(), data);
      ::tcsetattr(slave.get(), TCSANOW, &t);
      CRYO_TRY_CTX(std::move(back), "pty {}: give {} unread bytes back", index, data.size());
      img::tty_data_entry d;
      d.set_tty_id(id);
      d.set_data(data);
      data_.push_back(std::move(d));
    }
  }
  infos_.push_back(std::move(e));
  info_ids_[{index, master}] = id;
  return id;
}

// The slave's unread input, read raw (so a line not yet ended comes too)
// through a slave of cryo's, then given back as typed input (TIOCSTI) with
// echo, signals and input processing off, line discipline as it was.
Result<> Ptys::TakeInput(uint32_t index, int slave) {
  const Session& se = indexes_[index];
  int pending = 0;
  if (se.master_pid == 0) {
    if (::ioctl(slave, FIONREAD, &pending) == 0 && pending > 0)
      return MakeError(ENOTSUP, "pty {}: {} bytes of input and no master in the tree: not supported", index, pending);
    return {};
  }
  UniqueFd m = CRYO_TRY(TakeTaskFd(se.master_pid, se.master_fd));
  UniqueFd rd(::ioctl(m.get(), TIOCGPTPEER, O_RDWR | O_NOCTTY | O_NONBLOCK | O_CLOEXEC));
  if (!rd) return ErrnoError("pty {}: its slave", index);
  termios t{};
  if (::tcgetattr(rd.get(), &t) != 0) return ErrnoError("pty {}: termios", index);
  bool canon = (t.c_lflag & ICANON) != 0;
  termios raw = t;
  raw.c_iflag = 0;
  raw.c_lflag = 0;
  raw.c_cc[VMIN] = 0;
  raw.c_cc[VTIME] = 0;
  if (::tcsetattr(rd.get(), TCSANOW, &raw) != 0) return ErrnoError("pty {}: raw mode", index);
  std::string data;
  char buf[4096];
  for (;;) {
    ssize_t n = ::read(rd.get(), buf, sizeof buf);
    if (n <= 0) break;
    data.append(buf, static_cast<size_t>(n));
  }
  // Back as it was, through the master: in canonical mode the lines are
  // found again; the characters that would edit them must not be there.
  termios back = t;
  back.c_iflag = 0;
  back.c_lflag = t.c_lflag & ICANON;
  Result<> r;
  if (::tcsetattr(rd.get(), TCSANOW, &back) != 0) r = ErrnoError("pty {}: give input back", index);
  // TIOCSTI: each byte goes through the line discipline at once, under
  // these termios (a write to the master is processed later, by a worker).
  for (size_t i = 0; r && i < data.size(); i++)
    if (::ioctl(rd.get(), TIOCSTI, &data[i]) != 0) r = ErrnoError("pty {}: give {} bytes of input back", index, data.size());
  ::tcsetattr(rd.get(), TCSANOW, &t);
  CRYO_TRY(std::move(r));
  if (data.empty()) return {};
  if (canon)
    for (int cc : {VERASE, VKILL, VEOF, VEOL}) {
      unsigned char c = t.c_cc[cc];
      if (c != 0 && data.find(static_cast<char>(c)) != std::string::npos)
        return MakeError(ENOTSUP, "pty {}: unread input holds line-editing character {:#x}: not supported", index, c);
    }
  if (canon && data.find('\0') != std::string::npos)
    return MakeError(ENOTSUP, "pty {}: unread input ends a line with EOF: not supported", index);
  input_[index] = std::move(data);
  return {};
}

Result<uint32_t> Ptys::Dump(pid_t pid, int fd, dev_t rdev, uint32_t flags, FileTable& files) {
  bool master = IsMaster(rdev);
  uint32_t index = 0;
  if (master) {
    UniqueFd m = CRYO_TRY(TakeTaskFd(pid, fd));
    if (::ioctl(m.get(), TIOCGPTN, &index) != 0) return ErrnoError("pid {} fd {}: pty index", pid, fd);
  } else {
    index = (major(rdev) - kPtsMajorFirst) * 256 + minor(rdev);
  }
  uint32_t info = CRYO_TRY_CTX(Info(index, master, pid, fd), "pid {} fd {}", pid, fd);
  uint32_t id = files.NextId();
  img::file_entry fe;
  fe.set_type(img::TTY);
  fe.set_id(id);
  auto* t = fe.mutable_tty();
  t->set_id(id);
  t->set_tty_info_id(info);
  t->set_flags(flags);
  NoOwner(t->mutable_fown());
  files.Add(std::move(fe));
  return id;
}

Result<> Ptys::Write(int dir) {
  for (auto& [index, bytes] : input_) {
    auto it = info_ids_.find({index, false});
    if (it == info_ids_.end())
      return MakeError(ENOTSUP, "pty {}: {} bytes of input and no task holds the slave: not supported", index,
                       bytes.size());
    img::tty_data_entry d;
    d.set_tty_id(it->second);
    d.set_data(bytes);
    data_.push_back(std::move(d));
  }
  input_.clear();
  ImageWriter wi(dir, ImageKind::kTtyInfo);
  for (const auto& e : infos_) CRYO_TRY(wi.Write(e));
  CRYO_TRY(wi.Close());
  ImageWriter wd(dir, ImageKind::kTtyData);
  for (const auto& e : data_) CRYO_TRY(wd.Write(e));
  return wd.Close();
}

}  // namespace cryo
